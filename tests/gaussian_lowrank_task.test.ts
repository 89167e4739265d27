/**
 * The low-rank Gaussian as stages and as an MMPS prior:
 * - `fit-gaussian` with `covariance: lowrank` on masked 16-D observations publishes `mean`, `diag`, `factor`
 *   and `meta.model.kind = lowrank-gaussian` with iterations/converged metrics; `sample-posterior` samples its
 *   exact posterior (asked for, or chosen by auto: the same samples) and runs MMPS with its denoiser;
 *   `rank` without lowrank and a Monte-Carlo tol below the noise floor are spec errors;
 * - an interrupted low-rank fit resumes from its per-iteration checkpoint to exactly the uninterrupted result;
 * - MMPS (lib/guidance, DDPM 256 steps) around the low-rank denoiser reproduces the exact posterior mean and
 *   covariance of a masked 6×6 image (one observation repeated 2048 times): mean within 0.05, covariance
 *   within 10 % (Frobenius; Monte-Carlo ≈ 3 %, the rest sampler discretisation).
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";
import { maskOperator } from "../lib/operators/mod.ts";
import { lowRankPosteriorCovariance, lowRankPosteriorMean, lowRankToArrays } from "../lib/gaussian/mod.ts";
import { samplePosteriorShard } from "../lib/sampling/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import { initBackend } from "../lib/tensor/mod.ts";
import { randomLowRank } from "./lowrank_fixtures.ts";

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

Deno.test("MMPS around the low-rank denoiser reproduces the exact posterior of a masked image", async () => {
  await initBackend("wasm");
  const d = 36, n = 2048, sigmaY = 1e-2, xShape = [6, 6, 1];
  const prior = randomLowRank(d, 3, 41);
  const family = maskOperator({ xShape, keep: 0.5 });
  const one = family.corrupt(
    { shape: [1, ...xShape], data: new Float32Array(d).map((_, j) => Math.cos(j)) },
    42,
    sigmaY,
  );
  const y = { shape: [n, ...xShape], data: new Float32Array(n * d) };
  const mask = { shape: [n, ...xShape], data: new Uint8Array(n * d) };
  for (let i = 0; i < n; i++) y.data.set(one.y.data, i * d), mask.data.set(one.params.mask.data, i * d);
  const arrays = lowRankToArrays(prior);
  const { x } = await samplePosteriorShard({
    prior: { kind: "lowrank-gaussian", mean: arrays.mean, diag: arrays.diag, factor: arrays.factor },
    sigmaMin: 1e-3,
    sigmaMax: 10,
    observations: { kind: "mask", config: { xShape, keep: 0.5 }, params: { mask }, y, sigmaY },
    xShape,
    seed: 5,
    firstRow: 0,
    sampler: "ddpm",
    steps: 256,
    covariance: "mmps",
    batchSize: n,
    startMean: arrays.mean,
  });
  const obs = { family, params: one.params, y: one.y, sigmaY };
  const exact = lowRankPosteriorMean(prior, obs).mean, cov = lowRankPosteriorCovariance(prior, obs, 0);
  const m = sampleMoments({ shape: [n, d], data: x.data });
  let meanErr = 0, covErr = 0, covNorm = 0;
  for (let j = 0; j < d; j++) {
    meanErr = Math.max(meanErr, Math.abs(m.mean[j] - exact[j]));
    const e = new Float64Array(d);
    e[j] = 1;
    const col = cov.times(e);
    for (let p = 0; p < d; p++) covErr += (m.cov.data[p * d + j] - col[p]) ** 2, covNorm += col[p] ** 2;
  }
  const rel = Math.sqrt(covErr / covNorm);
  console.log(`MMPS vs exact: mean error ${meanErr.toFixed(4)}, covariance relative error ${rel.toFixed(4)}`);
  assert(meanErr <= 0.05, `posterior mean error ${meanErr}`);
  assert(rel <= 0.1, `posterior covariance relative error ${rel}`);
});
