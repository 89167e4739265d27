/**
 * DiEM and DiffEM on images, end to end through the CLI at a size a test affords: 8×8×1 synthetic images
 * (one bright bar, a row or a column, on a dark background: a mixture no Gaussian captures), half the pixels
 * masked, read through a Zarr group (`source: zarr`, the hidden x kept for scoring only). The Gaussian start,
 * then laps of a small U-Net: DiEM (fit-prior + MMPS with 3 CG iterations) and DiffEM (fit-conditional with
 * condition channels [Aᵀy, mask] + the plain conditional sampler). The second lap's posterior samples must be
 * closer to the hidden images than the first lap's (mean squared error per pixel), no lap may diverge, MMPS
 * must reproduce the observed pixels to the noise level; stages are cached; unconditional samples of the U-Net
 * prior have the images' shape. At this budget (60 training steps per lap) neither method beats the exact
 * Gaussian posterior yet (measured, MSE per pixel: Gaussian 0.351; DiEM 0.443 → 0.411; DiffEM 0.652 → 0.536):
 * that comparison is the MNIST pipeline's benchmark, not a test's.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, ranStages, scratch, show } from "./cli_helpers.ts";
import { readArray } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import { writeMaskedBars } from "./image_fixtures.ts";

const SIZE = 8;

const EM_SPEC = (method: "diem" | "diffem") => `
store: store
seed: 2
backend: wasm
stages:
  obs: { task: dataset, params: { source: zarr, path: obs.zarr } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 30 } }
  gauss_posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
${
  method === "diem"
    ? `  cg_sample:
    task: sample-posterior
    inputs: { obs: obs, prior: "em[0].fit" }
    params: { steps: 8, solver: cg, solver_maxiter: 1, shards: 1, workers: 0 }
`
    : ""
}  em:
    loop: { laps: 2, start: { sample: gauss_posterior, fit: gauss } }
    stages:
${
  method === "diem"
    ? `      fit:
        task: fit-prior
        inputs: { samples: prev.sample, init: prev.fit }
        params: { network: { kind: unet, features: [8, 8], blocks_per_level: 1, embedding: 8, groups: 4 },
                  steps: 60, batch_size: 32, lr: 2e-3, ema_decay: 0.9, checkpoint_every: 25 }
      sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { steps: 8, solver: mr, solver_maxiter: 1, shards: 2, workers: 2 }
      prior_sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { unconditional: true, count: 16, sampler: ddim, steps: 8, shards: 1, workers: 0 }`
    : `      fit:
        task: fit-conditional
        inputs: { samples: prev.sample, obs: obs, init: prev.fit }
        params: { network: { kind: unet, features: [8, 8], blocks_per_level: 1, embedding: 8, groups: 4 },
                  steps: 60, batch_size: 32, lr: 2e-3, ema_decay: 0.9, checkpoint_every: 25 }
      sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { steps: 8, shards: 2, workers: 2 }`
}
`;

/** Mean squared error per pixel of `samples` against `truth`, over the pixels where `where` is 1 (all by default). */
function mse(samples: NDArray, truth: NDArray, where?: NDArray, value = 1): number {
  assertEquals(samples.shape, truth.shape);
  let s = 0, n = 0;
  for (let i = 0; i < truth.data.length; i++) {
    if (where && where.data[i] !== value) continue;
    s += (samples.data[i] - truth.data[i]) ** 2;
    n++;
  }
  return s / n;
}

async function samplesOf(dir: string, id: string, name = "x"): Promise<NDArray> {
  return await readArray(`${(await show(dir, id)).entry as string}/arrays`, name);
}

async function runImageEm(method: "diem" | "diffem"): Promise<void> {
  const dir = await scratch(EM_SPEC(method));
  try {
    await writeMaskedBars(`${dir}/obs.zarr`, 128, 0.25, 1e-2);
    const r = await cli(dir, "run");
    assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const truth = await samplesOf(dir, "obs"), mask = await samplesOf(dir, "obs", "operator/mask");
    const start = mse(await samplesOf(dir, "gauss_posterior"), truth);
    const lapSamples = [await samplesOf(dir, "em[0].sample"), await samplesOf(dir, "em[1].sample")];
    const laps = lapSamples.map((x) => mse(x, truth));
    const seen = lapSamples.map((x) => mse(x, truth, mask, 1)),
      hidden = lapSamples.map((x) => mse(x, truth, mask, 0));
    const f = (v: number[]) => v.map((u) => u.toFixed(4)).join(" → ");
    console.log(
      `${method}: posterior MSE per pixel: Gaussian start ${start.toFixed(4)}, laps ${
        f(laps)
      }; observed pixels ${f(seen)}, hidden pixels ${f(hidden)}`,
    );
    const fit = await show(dir, "em[1].fit");
    const meta = fit.meta as Record<string, Record<string, unknown>>;
    // No lap diverges: every posterior stays within twice the Gaussian start's error.
    for (const v of laps) assert(v < 2 * start, `${method}: posterior MSE ${v} vs Gaussian start ${start}`);
    assertEquals(meta.model.event_shape, [SIZE, SIZE, 1]);
    assertEquals((meta.training.network as { kind: string }).kind, "unet");
    assertEquals((fit.metrics as Record<string, unknown>).warm_start, true);
    if (method === "diem") {
      const prior = await samplesOf(dir, "em[1].prior_sample");
      assertEquals(prior.shape, [16, SIZE, SIZE, 1]);
      assert(prior.data.every(Number.isFinite), "unconditional samples are finite");
      // MMPS on images with CG (1 iteration) runs too, on lap 0's prior. Only its shape is asserted: with a
      // network this undertrained, CG's step α = rᵀr / pᵀSp is erratic (measured MSE per pixel 7.5 here,
      // 0.62 and 24 with other seeds), because the Jacobian is far from symmetric positive definite; the
      // E-step above uses MR, which is robust to that.
      const cg = await show(dir, "cg_sample");
      assertEquals((cg.meta as Record<string, unknown>).solver_method, "cg");
      const cgSamples = await samplesOf(dir, "cg_sample");
      assertEquals(cgSamples.shape, [128, SIZE, SIZE, 1]);
      assert(cgSamples.data.every(Number.isFinite), "CG samples are finite");
      // MMPS reproduces the observed pixels to the noise level (σ_y² = 1e-4)…
      for (const v of seen) assert(v < 5e-4, `DiEM: MSE on observed pixels ${v}`);
      // …and the second lap's prior, trained on the first lap's samples, fills the hidden ones better.
      assert(laps[1] < laps[0] && hidden[1] < hidden[0], `DiEM laps did not improve: ${f(laps)}`);
    } else {
      assertEquals(((await show(dir, "em[1].sample")).meta as Record<string, unknown>).method, "conditional");
      // The conditional U-Net learns from its condition channels [Aᵀy, mask] to reproduce the observed pixels,
      // better after the second lap (warm-started: twice the training), and the hidden ones with them.
      assert(seen[1] < 0.7 * seen[0], `DiffEM: observed-pixel MSE ${f(seen)} did not fall by 30 %`);
      assert(laps[1] < 0.9 * laps[0], `DiffEM: posterior MSE ${f(laps)} did not fall by 10 %`);
      assertEquals((fit.metrics as Record<string, unknown>).recorrupt_fresh_fraction, 1);
    }
    // Everything is cached: a rerun runs nothing.
    assertEquals(ranStages((await cli(dir, "run")).stdout), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("DiEM on masked 8×8 images: a U-Net prior with MMPS fits the observations and improves over laps", () =>
  runImageEm("diem"));

Deno.test("DiffEM on masked 8×8 images: a conditional U-Net improves over laps", () => runImageEm("diffem"));
