/**
 * The whole E-step against the exact answer: sampling with MMPS around the exact denoiser of a
 * Gaussian prior must reproduce the analytic posterior of a linear-Gaussian observation (docs/design.md §3:
 * "the exact oracle for tests"), up to sampler discretisation and Monte-Carlo error.
 *
 * Setup: a random 5-D prior N(μ, Σ), one random projection A (m = 2), one observation y, σ_y = 0.1;
 * 16384 posterior samples of that single observation (the observation repeated, each row its own
 * random stream), DDPM with 256 steps.
 * Tolerances: mean error ≤ 0.035 (Monte-Carlo standard error of the mean ≈ 0.01 at the largest
 * posterior standard deviation ≈ 1.2); relative Frobenius error of the covariance ≤ 0.06
 * (Monte-Carlo ≈ 0.015; the discretised sampler shrinks covariances by ≈ 2 % at this step count).
 * The heuristics fail it: `cov_t` misses the mean by 0.07, `zero` diverges.
 */
import { initBackend } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { projectionOperator } from "../lib/operators/mod.ts";
import { gaussianPosterior } from "../lib/gaussian/mod.ts";
import { samplePosteriorShard } from "../lib/sampling/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import { assert } from "./assert.ts";
import { randomSPD } from "./linalg_fixtures.ts";

Deno.test("MMPS sampling with the exact Gaussian denoiser reproduces the analytic posterior", async () => {
  await initBackend("wasm");
  const d = 5, n = 16384, sigmaY = 0.1;
  const rng = Rng.fromSeed(11);
  const mu = new Float64Array(d).map(() => rng.normal());
  const cov = randomSPD(d, rng);
  const family = projectionOperator({ xShape: [d], m: 2 });
  // One observation of a draw from the prior, repeated n times with the same operator.
  const one = family.corrupt(
    { shape: [1, d], data: Float32Array.from(mu, (m) => m + rng.normal()) },
    3,
    sigmaY,
  );
  const y = { shape: [n, 2], data: new Float32Array(n * 2) };
  const matrices = { shape: [n, 2, d], data: new Float32Array(n * 2 * d) };
  for (let i = 0; i < n; i++) {
    y.data.set(one.y.data, i * 2);
    matrices.data.set(one.params.matrices.data as Float32Array, i * 2 * d);
  }
  const post = gaussianPosterior({ mean: mu, cov }, { family, params: one.params, y: one.y, sigmaY });
  const { x } = await samplePosteriorShard({
    prior: { kind: "gaussian", mean: { shape: [d], data: mu }, cov: { shape: [d, d], data: cov.data } },
    sigmaMin: 1e-3,
    sigmaMax: 10,
    observations: { kind: "projection", config: { xShape: [d], m: 2 }, params: { matrices }, y, sigmaY },
    xShape: [d],
    seed: 5,
    firstRow: 0,
    sampler: "ddpm",
    steps: 256,
    covariance: "mmps",
    batchSize: n,
    startMean: { shape: [d], data: mu },
  });
  const m = sampleMoments(x);
  let meanErr = 0, covErr = 0, covNorm = 0;
  for (let j = 0; j < d; j++) meanErr = Math.max(meanErr, Math.abs(m.mean[j] - post.mean[j]));
  for (let j = 0; j < d * d; j++) {
    covErr += (m.cov.data[j] - post.cov![j]) ** 2;
    covNorm += post.cov![j] ** 2;
  }
  const rel = Math.sqrt(covErr / covNorm);
  assert(meanErr <= 0.035, `posterior mean error ${meanErr.toFixed(4)} > 0.035`);
  assert(rel <= 0.06, `posterior covariance relative error ${rel.toFixed(4)} > 0.06`);
});
