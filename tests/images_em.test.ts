/**
 * DiEM and DiffEM on images, end to end through the CLI at a size a test affords: 8×8×1 synthetic images
 * (one bright bar, a row or a column, on a dark background: a mixture no Gaussian captures), half the pixels
 * masked, read through a Zarr group (`source: zarr`, the hidden x kept for scoring only). The Gaussian start,
 * then laps of a small U-Net: DiEM (fit-prior + MMPS with 3 CG iterations) and DiffEM (fit-conditional with
 * condition channels [Aᵀy, mask] + the plain conditional sampler). The last lap's posterior samples must be
 * closer to the hidden images than the Gaussian start's (mean squared error per pixel); stages resume from
 * the cache; unconditional samples of the U-Net prior have the images' shape.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, ranStages, scratch, show } from "./cli_helpers.ts";
import { operatorFamily } from "../lib/operators/mod.ts";
import { createGroup, readArray, writeArray } from "../lib/engine/mod.ts";
import { Rng } from "../lib/random.ts";
import type { NDArray } from "../lib/array.ts";

const SIZE = 8;

/** `n` images `[n, 8, 8, 1]` in [−1, 1]: −1 everywhere but one full row or column at +1. */
export function barImages(n: number, seed: number): NDArray<Float32Array> {
  const rng = Rng.fromSeed(seed, "bars");
  const data = new Float32Array(n * SIZE * SIZE).fill(-1);
  for (let i = 0; i < n; i++) {
    const vertical = rng.int(2) === 1, at = rng.int(SIZE);
    for (let k = 0; k < SIZE; k++) {
      const [r, c] = vertical ? [k, at] : [at, k];
      data[i * SIZE * SIZE + r * SIZE + c] = 1;
    }
  }
  return { shape: [n, SIZE, SIZE, 1], data };
}

/** A Zarr group of masked observations of `barImages(n)`, with the hidden x for scoring. */
export async function writeMaskedBars(dir: string, n: number, keep: number, sigmaY: number): Promise<void> {
  const x = barImages(n, 3);
  const family = operatorFamily("mask", { xShape: [SIZE, SIZE, 1], keep });
  const { y, params } = family.corrupt(x, 5, sigmaY);
  await createGroup(dir, { operator: "mask", sigma_y: sigmaY });
  await writeArray(dir, "y", y);
  await writeArray(dir, "mask", params.mask);
  await writeArray(dir, "x", x);
}

const EM_SPEC = (method: "diem" | "diffem") => `
store: store
seed: 2
backend: wasm
stages:
  obs: { task: dataset, params: { source: zarr, path: obs.zarr } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 30 } }
  gauss_posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  em:
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
        params: { steps: 8, solver: cg, solver_maxiter: 1, shards: 2, workers: 2 }
      prior_sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { unconditional: true, count: 16, steps: 8, shards: 1, workers: 0 }`
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

/** Mean squared error per pixel of `samples` against `truth`. */
function mse(samples: NDArray, truth: NDArray): number {
  assertEquals(samples.shape, truth.shape);
  let s = 0;
  for (let i = 0; i < truth.data.length; i++) s += (samples.data[i] - truth.data[i]) ** 2;
  return s / truth.data.length;
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
    const truth = await samplesOf(dir, "obs");
    const start = mse(await samplesOf(dir, "gauss_posterior"), truth);
    const laps = [mse(await samplesOf(dir, "em[0].sample"), truth), mse(await samplesOf(dir, "em[1].sample"), truth)];
    console.log(`${method}: posterior MSE per pixel, Gaussian ${start.toFixed(4)}, laps ${laps.map((v) => v.toFixed(4))}`);
    assert(laps[1] < 0.8 * start, `${method}: last lap MSE ${laps[1]} not below 0.8 × Gaussian start ${start}`);
    const fit = await show(dir, "em[1].fit");
    const meta = fit.meta as Record<string, Record<string, unknown>>;
    assertEquals(meta.model.event_shape, [SIZE, SIZE, 1]);
    assertEquals((meta.training.network as { kind: string }).kind, "unet");
    assertEquals((fit.metrics as Record<string, unknown>).warm_start, true);
    if (method === "diem") {
      const prior = await samplesOf(dir, "em[1].prior_sample");
      assertEquals(prior.shape, [16, SIZE, SIZE, 1]);
      assert(prior.data.every(Number.isFinite), "unconditional samples are finite");
      const sample = (await show(dir, "em[1].sample")).meta as Record<string, unknown>;
      assertEquals(sample.solver_method, "cg");
    } else {
      assertEquals(((await show(dir, "em[1].sample")).meta as Record<string, unknown>).method, "conditional");
      assertEquals((fit.metrics as Record<string, unknown>).recorrupt_fresh_fraction, 1);
    }
    // Everything is cached: a rerun runs nothing.
    assertEquals(ranStages((await cli(dir, "run")).stdout), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("DiEM on masked 8×8 images: a U-Net prior with MMPS beats the Gaussian start", () => runImageEm("diem"));

Deno.test("DiffEM on masked 8×8 images: a conditional U-Net beats the Gaussian start", () => runImageEm("diffem"));
