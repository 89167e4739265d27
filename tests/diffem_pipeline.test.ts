/**
 * A short DiffEM run through the CLI, as a spec declares it: the Gaussian start, then two laps of
 * fit-conditional → sample-posterior (conditional, no MMPS) → evaluate. The second lap's samples must be
 * closer to the truth than the Gaussian start's (Sinkhorn divergence lower by ≥ 15 %; measured ≈ 30–45 %),
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
  data: { task: dataset, params: { source: manifold, samples: 1024, features: 5, manifold_dim: 1 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { iterations: 16 } }
  gauss_posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  gauss_evaluate: { task: evaluate, inputs: { samples: gauss_posterior, truth: data } }
  diffem:
    loop: { laps: 2, start: { sample: gauss_posterior, fit: gauss } }
    stages:
      fit:
        task: fit-conditional
        inputs: { samples: prev.sample, obs: obs, init: prev.fit }
        params: { steps: 500, batch_size: 256, hidden: [128, 128, 128], checkpoint_every: 200 }
      sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { sampler: ddpm, steps: 32, shards: 2 }
      evaluate: { task: evaluate, inputs: { samples: sample, truth: data, model: fit } }
`;

Deno.test("a short DiffEM run improves on its Gaussian start", async () => {
  const dir = await scratch(SPEC);
  try {
    const r = await cli(dir, "run");
    assert(r.code === 0, `run failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    const metrics = async (id: string) => (await show(dir, id)).metrics as Record<string, number | boolean | null>;
    const start = (await metrics("gauss_evaluate")).sinkhorn as number;
    const laps = [
      (await metrics("diffem[0].evaluate")).sinkhorn as number,
      (await metrics("diffem[1].evaluate")).sinkhorn as number,
    ];
    console.log(`Sinkhorn: Gaussian start ${start.toFixed(4)}, DiffEM laps ${laps.map((s) => s.toFixed(4))}`);
    assert(laps[1] < 0.85 * start, `DiffEM lap 1 Sinkhorn ${laps[1]} is not below 0.85 × ${start}`);
    for (const lap of [0, 1]) {
      const fit = await metrics(`diffem[${lap}].fit`);
      assert(fit.recorrupt_fresh_fraction === 1, `lap ${lap}: fresh fraction ${fit.recorrupt_fresh_fraction}`);
      const ratio = fit.recorrupt_residual_over_sigma as number;
      assert(Math.abs(ratio - 1) < 0.1, `lap ${lap}: re-corruption residual / σ_y = ${ratio}`);
      assert(fit.warm_start === (lap === 1), `lap ${lap}: warm_start ${fit.warm_start}`);
      assert(fit.condition_features === 12, `lap ${lap}: condition features ${fit.condition_features}`);
    }
    const sample = await show(dir, "diffem[1].sample");
    const meta = sample.meta as Record<string, unknown>;
    assert(meta.method === "conditional" && !("cg" in meta), `sample meta ${JSON.stringify(meta)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
