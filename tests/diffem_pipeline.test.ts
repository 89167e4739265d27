/**
 * A short DiffEM run through the CLI, as a spec declares it: 2048 observations, the Gaussian start, then two
 * laps of fit-conditional (800 steps) → sample-posterior (conditional, no MMPS) → evaluate. The second lap's
 * samples must be closer to the truth than the Gaussian start's (Sinkhorn divergence, m = 1024, lower by
 * ≥ 15 %; measured 2.11 → 1.79 → 1.47, 30 %),
 * the M-step must have re-corrupted with fresh operators at σ_y (checked by the fit's metrics), lap 1 must
 * warm-start from lap 0, and the E-step must have sampled the conditional model (no CG statistics).
 */
import { cli, scratch, show } from "./cli_helpers.ts";
import { assert } from "./assert.ts";

const SPEC = `
seed: 0
backend: wasm
store: .store
stages:
  data: { task: dataset, params: { source: manifold, samples: 2048, features: 5, manifold_dim: 1 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 16 } }
  gauss_posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  gauss_evaluate: { task: evaluate, inputs: { samples: gauss_posterior, truth: data }, params: { subsets: 0 } }
  diffem:
    loop: { laps: 2, start: { sample: gauss_posterior, fit: gauss } }
    stages:
      fit:
        task: fit-conditional
        inputs: { samples: prev.sample, obs: obs, init: prev.fit }
        params: { steps: 800, batch_size: 256, checkpoint_every: 300 }
      sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { sampler: ddpm, steps: 32, shards: 2 }
      evaluate: { task: evaluate, inputs: { samples: sample, truth: data, model: fit }, params: { subsets: 0 } }
`;

Deno.test("a short DiffEM run improves on its Gaussian start", async () => {
  const dir = await scratch(SPEC);
  try {
    const r = await cli(dir, "run");
    assert(r.code === 0, `run failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    const metrics = async (id: string) =>
      (await show(dir, id)).metrics as Record<string, number | boolean | null>;
    const start = (await metrics("gauss_evaluate")).sinkhorn as number;
    const laps = [
      (await metrics("diffem[0].evaluate")).sinkhorn as number,
      (await metrics("diffem[1].evaluate")).sinkhorn as number,
    ];
    console.log(`Sinkhorn: Gaussian start ${start.toFixed(4)}, DiffEM laps ${laps.map((s) => s.toFixed(4))}`);
    assert(laps[1] < 0.85 * start, `DiffEM lap 1 Sinkhorn ${laps[1]} is not below 0.85 × ${start}`);
    for (const lap of [0, 1]) {
      const fit = await metrics(`diffem[${lap}].fit`);
      assert(
        fit.recorrupt_fresh_fraction === 1,
        `lap ${lap}: fresh fraction ${fit.recorrupt_fresh_fraction}`,
      );
      const ratio = fit.recorrupt_residual_over_sigma as number;
      assert(Math.abs(ratio - 1) < 0.1, `lap ${lap}: re-corruption residual / σ_y = ${ratio}`);
      assert(fit.warm_start === (lap === 1), `lap ${lap}: warm_start ${fit.warm_start}`);
      assert(fit.condition_features === 12, `lap ${lap}: condition features ${fit.condition_features}`);
    }
    const sample = await show(dir, "diffem[1].sample");
    const meta = sample.meta as Record<string, unknown>;
    assert(meta.method === "conditional" && !("solver" in meta), `sample meta ${JSON.stringify(meta)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the comparison spec runs both methods from one shared Gaussian start and one set of observations", async () => {
  const dir = await scratch(await Deno.readTextFile(new URL("../pipeline-compare.yaml", import.meta.url)));
  try {
    const r = await cli(dir, "dag");
    assert(r.code === 0, `dag failed (${r.code}): ${r.stderr}`);
    const lines = r.stdout.trim().split("\n");
    const ids = lines.map((l) => l.split(" ")[0]);
    for (
      const shared of [
        "data",
        "obs",
        "gauss",
        "gauss_posterior",
        "truth_reference",
        "gauss_evaluate",
        "report",
      ]
    ) {
      assert(
        ids.filter((id) => id === shared).length === 1,
        `${shared} appears ${ids.filter((i) => i === shared).length}×`,
      );
    }
    const line = (id: string) => lines.find((l) => l.startsWith(`${id} `)) ?? "";
    assert(line("diem[0].fit").includes("(fit-prior) ← samples=gauss_posterior"), line("diem[0].fit"));
    assert(
      line("diffem[0].fit").includes("(fit-conditional) ← samples=gauss_posterior obs=obs"),
      line("diffem[0].fit"),
    );
    assert(line("diffem[1].fit").includes("init=diffem[0].fit"), line("diffem[1].fit"));
    assert(line("diffem[0].sample").includes("obs=obs prior=diffem[0].fit"), line("diffem[0].sample"));
    const laps = (loop: string) =>
      ids.filter((id) => id.startsWith(`${loop}[`) && id.endsWith(".evaluate")).length;
    assert(
      laps("diem") === laps("diffem") && laps("diem") > 0,
      `laps: diem ${laps("diem")}, diffem ${laps("diffem")}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
