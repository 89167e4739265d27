/**
 * MMPS (lib/guidance, DDPM 256 steps, covariance mmps) around the low-rank denoiser reproduces the exact
 * low-rank posterior of one observation of a 6×6 image (repeated 2048 times, each row its own stream):
 * - under masking, through the sampling shard as `sample-posterior` runs it;
 * - under a Fourier-basis operator (orthonormal real 2-D DFT with k-space weights, bound as a dense matrix).
 * Tolerances: mean within 0.05; covariance (Frobenius) within 10 % under masking (measured 8.1 %; 6.6 % with
 * 4096 rows) and 13 % in the Fourier basis (measured 9.6 %): Monte-Carlo ≈ 3 %, the rest the sampler's
 * discretisation.
 */
import { maskOperator } from "../lib/operators/mod.ts";
import type { BoundOperator } from "../lib/operators/mod.ts";
import {
  type LinearGaussianObservations,
  lowRankDenoiser,
  type LowRankGaussian,
  lowRankPosteriorCovariance,
  lowRankPosteriorMean,
  lowRankToArrays,
} from "../lib/gaussian/mod.ts";
import { samplePosteriorShard } from "../lib/sampling/mod.ts";
import { mmpsDenoiser } from "../lib/guidance/mod.ts";
import { sampleRows } from "../lib/diffusion/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { assert } from "./assert.ts";
import { denseOperatorMatrix } from "./linalg_fixtures.ts";
import { fourierTestFamily, fourierWeights, randomLowRank } from "./lowrank_fixtures.ts";

const D = 36, N = 2048, SIGMA_Y = 1e-2, X_SHAPE = [6, 6, 1];

/** The samples' mean and covariance against the exact posterior of observation 0 of `obs`. */
function assertExactPosterior(
  x: Float32Array,
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  what: string,
  covTol: number,
) {
  const exact = lowRankPosteriorMean(prior, obs).mean, cov = lowRankPosteriorCovariance(prior, obs, 0);
  const m = sampleMoments({ shape: [N, D], data: x });
  let meanErr = 0, covErr = 0, covNorm = 0;
  for (let j = 0; j < D; j++) {
    meanErr = Math.max(meanErr, Math.abs(m.mean[j] - exact[j]));
    const e = new Float64Array(D);
    e[j] = 1;
    const col = cov.times(e);
    for (let p = 0; p < D; p++) covErr += (m.cov.data[p * D + j] - col[p]) ** 2, covNorm += col[p] ** 2;
  }
  const rel = Math.sqrt(covErr / covNorm);
  console.log(
    `${what}: MMPS vs exact: mean error ${meanErr.toFixed(4)}, covariance relative error ${rel.toFixed(4)}`,
  );
  assert(meanErr <= 0.05, `${what}: posterior mean error ${meanErr}`);
  assert(rel <= covTol, `${what}: posterior covariance relative error ${rel}`);
}

/** One observation's rows repeated N times. */
function repeated<T extends Float32Array | Uint8Array>(data: T, rowLength: number): T {
  const out = new (data.constructor as { new (n: number): T })(N * rowLength);
  for (let i = 0; i < N; i++) out.set(data, i * rowLength);
  return out;
}

Deno.test("MMPS around the low-rank denoiser reproduces the exact posterior of a masked image", async () => {
  await initBackend("wasm");
  const prior = randomLowRank(D, 3, 41);
  const family = maskOperator({ xShape: X_SHAPE, keep: 0.5 });
  const truth = new Float32Array(D).map((_, j) => Math.cos(j));
  const one = family.corrupt({ shape: [1, ...X_SHAPE], data: truth }, 42, SIGMA_Y);
  const y = { shape: [N, ...X_SHAPE], data: repeated(one.y.data, D) };
  const mask = { shape: [N, ...X_SHAPE], data: repeated(one.params.mask.data as Uint8Array, D) };
  const arrays = lowRankToArrays(prior);
  const { x } = await samplePosteriorShard({
    prior: { kind: "lowrank-gaussian", mean: arrays.mean, diag: arrays.diag, factor: arrays.factor },
    sigmaMin: 1e-3,
    sigmaMax: 10,
    observations: {
      kind: "mask",
      config: { xShape: X_SHAPE, keep: 0.5 },
      params: { mask },
      y,
      sigmaY: SIGMA_Y,
    },
    xShape: X_SHAPE,
    seed: 5,
    firstRow: 0,
    sampler: "ddpm",
    steps: 256,
    covariance: "mmps",
    batchSize: N,
    startMean: arrays.mean,
  });
  assertExactPosterior(x.data, prior, { family, params: one.params, y: one.y, sigmaY: SIGMA_Y }, "mask", 0.1);
});

Deno.test("MMPS around the low-rank denoiser reproduces the exact posterior under a Fourier-basis operator", async () => {
  await initBackend("wasm");
  const prior = randomLowRank(D, 3, 43, true); // the Fourier basis needs an isotropic diagonal
  const family = fourierTestFamily(6, 6), params = { weights: fourierWeights(1, D, 44) };
  const a = denseOperatorMatrix(family, params, 0); // y = A x, A = diag(√w) Qᵀ (D × D here)
  const truth = new Float64Array(D).map((_, j) => Math.sin(j));
  const ax = family.applyHost({ shape: [1, ...X_SHAPE], data: truth }, params).data;
  const y1 = Float32Array.from(ax, (v, t) => v + SIGMA_Y * Math.cos(3.1 * t));
  const at = tf.tensor2d(Float32Array.from(a.data), [D, D]);
  const op: BoundOperator = {
    batch: null,
    xShape: X_SHAPE,
    yShape: [D],
    apply: (x) => tf.matMul(tf.reshape(x, [x.shape[0], D]), at, false, true),
    adjoint: (y) => tf.reshape(tf.matMul(y as tf.Tensor2D, at), [y.shape[0], ...X_SHAPE]),
    dispose: () => {},
  };
  const yt = tf.tensor2d(repeated(y1, D), [N, D]);
  const base = lowRankDenoiser(prior);
  const denoiser = mmpsDenoiser(base, op, yt, SIGMA_Y, { covariance: "mmps" });
  const x = await sampleRows(denoiser, {
    sampler: "ddpm",
    steps: 256,
    sigmaMin: 1e-3,
    sigmaMax: 10,
    seed: 6,
    first: 0,
    count: N,
    eventShape: X_SHAPE,
    batchSize: N,
    mean: Float32Array.from(prior.mean),
  });
  denoiser.dispose(), base.dispose(), tf.dispose([at, yt]);
  const obs = { family, params, y: { shape: [1, D], data: y1 }, sigmaY: SIGMA_Y };
  assertExactPosterior(x.data, prior, obs, "fourier", 0.13);
});
