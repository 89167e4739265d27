/**
 * The low-rank Gaussian as stages:
 * - `fit-gaussian` with `covariance: lowrank` on masked 16-D observations publishes `mean`, `diag`, `factor`
 *   and `meta.model.kind = lowrank-gaussian` with iterations/converged metrics; `sample-posterior` samples its
 *   exact posterior (asked for, or chosen by auto: the same samples) and runs MMPS with its denoiser;
 *   `rank` without lowrank and a Monte-Carlo tol below the noise floor are spec errors.
 * (The interrupted low-rank fit's resume is tested in gaussian_fit_task.test.ts, MMPS around the low-rank
 * denoiser in gaussian_lowrank_mmps.test.ts.)
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";

const STAGES = `
store: store
seed: 3
backend: wasm
stages:
  data: { task: dataset, params: { samples: 256, features: 16, manifold_dim: 2 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: mask, keep: 0.5 }, sigma_y: 0.01 } }
  gauss:
    task: fit-gaussian
    inputs: { obs: obs }
    params: { covariance: lowrank, rank: 3, mode: sample, tol: 3e-4, max_iterations: 40 }
  exact: { task: sample-posterior, seed: 11, inputs: { obs: obs, prior: gauss }, params: { method: exact, shards: 2 } }
  auto: { task: sample-posterior, seed: 11, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  mmps:
    task: sample-posterior
    inputs: { obs: obs, prior: gauss }
    params: { method: mmps, steps: 8, shards: 1, workers: 0 }
`;

Deno.test("fit-gaussian lowrank publishes a low-rank Gaussian whose posterior sample-posterior samples", async () => {
  const dir = await scratch(STAGES);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  const gauss = await show(dir, "gauss");
  assertEquals((gauss.meta as { model: unknown }).model, { kind: "lowrank-gaussian", event_shape: [16] });
  const metrics = JSON.parse((await cli(dir, "metrics", "--json")).stdout);
  assert(metrics.gauss.converged === true && metrics.gauss.iterations > 1, JSON.stringify(metrics.gauss));
  assert(Number.isFinite(metrics.gauss.log_evidence), JSON.stringify(metrics.gauss));
  for (const id of ["exact", "auto"]) {
    const meta = (await show(dir, id)).meta as { method: string; exact_solve: { method: string }[] };
    assertEquals(meta.method, "exact", id);
    assertEquals(meta.exact_solve[0].method, "woodbury", id);
  }
  assertEquals(metrics.exact.mean_norm, metrics.auto.mean_norm);
  assertEquals(((await show(dir, "mmps")).meta as { method: string }).method, "mmps");
  assert(Number.isFinite(metrics.mmps.mean_norm), JSON.stringify(metrics.mmps));
});

Deno.test("fit-gaussian lowrank: rank without lowrank and a Monte-Carlo tol below its noise are spec errors", async () => {
  const dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { samples: 64 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: mask, keep: 0.5 } } }
  a: { task: fit-gaussian, inputs: { obs: obs }, params: { rank: 2 } }
  b: { task: fit-gaussian, inputs: { obs: obs }, params: { covariance: lowrank, rank: 2, mode: sample } }
`);
  const r = await cli(dir, "status");
  assertEquals(r.code, 2, r.stdout);
  assertMatch(r.stderr, /rank applies to covariance lowrank only/);
  assertMatch(r.stderr, /set tol ≥ 1e-5/);
});

Deno.test("fit-gaussian lowrank diagonal pixel: needs mode sample (spec error) and a pixel-basis operator (the stage fails, publishing nothing)", async () => {
  let dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { samples: 64 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: mask, keep: 0.5 } } }
  a: { task: fit-gaussian, inputs: { obs: obs }, params: { covariance: lowrank, rank: 2, diagonal: pixel } }
  b: { task: fit-gaussian, inputs: { obs: obs }, params: { diagonal: pixel } }
`);
  let r = await cli(dir, "status");
  assertEquals(r.code, 2, r.stdout);
  assertMatch(r.stderr, /diagonal "pixel" needs mode "sample"/);
  assertMatch(r.stderr, /diagonal applies to covariance lowrank only/);
  dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { source: mnist, samples: 16, size: 7 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: fourier }, sigma_y: 0.01 } }
  gauss:
    task: fit-gaussian
    inputs: { obs: obs }
    params: { covariance: lowrank, rank: 2, diagonal: pixel, mode: sample, tol: 3e-4, max_iterations: 2 }
`);
  r = await cli(dir, "run");
  assertEquals(r.code, 1, r.stdout);
  assertMatch(
    r.stdout + r.stderr,
    /diagonal pixel needs an operator diagonal in the pixel basis .* fourier basis/,
  );
  assertMatch((await cli(dir, "status")).stdout, /gauss\s+fit-gaussian\s+missing/);
});
