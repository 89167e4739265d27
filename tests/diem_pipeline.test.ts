/**
 * DiEM end to end through the CLI, at a size a test can afford: from projected, noisy observations
 * only, two EM laps of a diffusion prior must already beat the Gaussian EM start on the Sinkhorn
 * divergence to the hidden truth; the report renders; rerunning is free; evaluations that read one
 * `truth-reference` stage publish the metrics of one that solves its references itself.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, ranStages, scratch, show } from "./cli_helpers.ts";

const SPEC = `
store: store
seed: 1
backend: wasm
stages:
  data: { task: dataset, params: { samples: 1024 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs } }
  gauss_posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  truth_reference:
    task: truth-reference
    inputs: { truth: data }
    params: { sinkhorn_samples: 256, sinkhorn_maxiter: 500 }
  gauss_evaluate:
    task: evaluate
    inputs: { samples: gauss_posterior, truth: data, truth_reference: truth_reference }
    params: { sinkhorn_samples: 256, sinkhorn_maxiter: 500 }
  gauss_evaluate_alone:
    task: evaluate
    inputs: { samples: gauss_posterior, truth: data }
    params: { sinkhorn_samples: 256, sinkhorn_maxiter: 500 }
  em:
    loop: { laps: 2, start: { sample: gauss_posterior, fit: gauss } }
    stages:
      fit: { task: fit-prior, inputs: { samples: prev.sample, init: prev.fit }, params: { steps: 800, batch_size: 256 } }
      sample:
        task: sample-posterior
        inputs: { obs: obs, prior: fit }
        params: { steps: 24, solver: mr, solver_maxiter: 1, shards: 2 }
      evaluate:
        task: evaluate
        inputs: { samples: sample, truth: data, truth_reference: truth_reference, model: fit }
        params: { sinkhorn_samples: 256, sinkhorn_maxiter: 500 }
  report: { task: report, inputs: { evaluations: [gauss_evaluate, "em[*].evaluate"], truth: data } }
`;

Deno.test("a short DiEM run beats its Gaussian start and reports it", async () => {
  const dir = await scratch(SPEC);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  const metrics = JSON.parse((await cli(dir, "metrics", "--json")).stdout);
  // Means over 4 subsets: one Sinkhorn number on 256 points moves by more than what two short laps gain over a
  // converged Gaussian start.
  const gaussian = metrics.gauss_evaluate.sinkhorn_mean as number;
  const laps = [metrics["em[0].evaluate"].sinkhorn_mean, metrics["em[1].evaluate"].sinkhorn_mean] as number[];
  assert(
    laps[1] < gaussian,
    `the learned prior's mean Sinkhorn (${
      laps.map((v) => v.toFixed(3)).join(" → ")
    }) should fall below the Gaussian start's (${gaussian.toFixed(3)})`,
  );
  // Every divergence with its error bar over 4 subsets of 256 rows; `metrics` prints them as mean ± se.
  assert(metrics["em[1].evaluate"].sinkhorn_se > 0, JSON.stringify(metrics["em[1].evaluate"]));
  assertEquals(metrics.gauss_evaluate.sinkhorn_subsets, 4);
  // The truth-only solves, made once by truth_reference for all three evaluations, change no metric.
  assertEquals(metrics.truth_reference.solves, 4);
  assertEquals(metrics.gauss_evaluate, metrics.gauss_evaluate_alone);
  const table = (await cli(dir, "metrics")).stdout;
  assertMatch(table, /gauss_evaluate: .*sinkhorn_mean=[-\d.e]+ ± [\d.e-]+ /);
  assert(!/sinkhorn_se/.test(table), "the standard error is printed beside its mean, not as a column");
  // The second lap warm-starts from the first and trains on samples inside the data box.
  assertEquals(metrics["em[1].fit"].warm_start, true);
  assertEquals(metrics["em[0].fit"].warm_start, false);
  const report = await show(dir, "report");
  assert((report.outputs as { files: string[] }).files.includes("report.html"));
  assertMatch(
    await Deno.readTextFile(`${report.entry}/files/report.html`),
    /<img[^>]+src="data:image\/png;base64,/,
  );
  assertEquals(ranStages((await cli(dir, "run")).stdout), []);
});
