/**
 * The low-rank Gaussian N(μ, diag(d) + U Uᵀ) against dense closed forms on 6×6×1 images (D = 36, r = 3),
 * where the dense references (lib/gaussian's full-covariance code, a different code path) are cheap:
 * - store round trip; the TF denoiser against the dense eigen-form denoiser (float32: 2e-4);
 * - posterior mean, posterior covariance (C e_j for every j) and log evidence under masking (random per-pixel
 *   d) and under a Fourier-basis operator (isotropic d, weights in {0, ½, 1}) to 1e-8; the Fourier basis
 *   with a non-isotropic d is refused with a clear error;
 * - the conjugate-gradient fallback (blur, no normal form): mean and covariance to 1e-6;
 * - Matheron samples of one masked observation: mean within 4 standard errors, covariance to 5 % (Frobenius).
 */
import { Rng } from "../lib/random.ts";
import { blurOperator, maskOperator } from "../lib/operators/mod.ts";
import {
  gaussianDenoiser,
  gaussianLogEvidence,
  gaussianPosterior,
  lowRankDenoiser,
  lowRankFromArrays,
  lowRankLogEvidence,
  lowRankPosteriorCovariance,
  lowRankPosteriorMean,
  lowRankToArrays,
  sampleLowRankPosterior,
} from "../lib/gaussian/mod.ts";
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import type { LinearGaussianObservations } from "../lib/gaussian/mod.ts";
import { assert, assertEquals, assertNear } from "./assert.ts";
import { denseCov, denseOf, fourierTestFamily, fourierWeights, randomLowRank } from "./lowrank_fixtures.ts";

const H = 6, W = 6, D = 36, R = 3;

/** Observations of prior draws through `family` with `params` (noise σ). */
function observe(
  family: LinearGaussianObservations["family"],
  params: LinearGaussianObservations["params"],
  n: number,
  sigmaY: number,
  seed: number,
): LinearGaussianObservations {
  const rng = Rng.fromSeed(seed, "x");
  const x = new Float64Array(n * D).map(() => rng.normal());
  const ax = family.applyHost({ shape: [n, ...family.xShape], data: x }, params);
  const y = Float32Array.from(ax.data, (v) => v + sigmaY * rng.normal());
  return { family, params, y: { shape: [n, ...family.yShape], data: y }, sigmaY };
}

function maskObservations(n: number, sigmaY: number, seed: number): LinearGaussianObservations {
  const family = maskOperator({ xShape: [H, W, 1], keep: 0.5 });
  const { y, params } = family.corrupt(
    {
      shape: [n, H, W, 1],
      data: new Float32Array(n * D).map((_, i) => Math.sin(i)),
    },
    seed,
    sigmaY,
  );
  return { family, params, y, sigmaY };
}

/** Max |low-rank − dense| of posterior means, covariances (C e_j) and the log evidence. */
function compareWithDense(
  prior: ReturnType<typeof randomLowRank>,
  obs: LinearGaussianObservations,
  evidence = true,
) {
  const dense = gaussianPosterior(denseOf(prior), obs);
  const { mean } = lowRankPosteriorMean(prior, obs);
  let meanErr = 0, covErr = 0;
  for (let t = 0; t < mean.length; t++) meanErr = Math.max(meanErr, Math.abs(mean[t] - dense.mean[t]));
  for (let i = 0; i < dense.n; i++) {
    const cov = lowRankPosteriorCovariance(prior, obs, i);
    for (let j = 0; j < D; j++) {
      const e = new Float64Array(D);
      e[j] = 1;
      const col = cov.times(e);
      for (let p = 0; p < D; p++) {
        covErr = Math.max(covErr, Math.abs(col[p] - dense.cov![i * D * D + p * D + j]));
      }
    }
  }
  const evErr = evidence
    ? Math.abs(lowRankLogEvidence(prior, obs) - gaussianLogEvidence(denseOf(prior), obs))
    : 0;
  return { meanErr, covErr, evErr };
}

Deno.test("low-rank Gaussian: store round trip and shape errors", () => {
  const prior = randomLowRank(D, R, 1);
  const a = lowRankToArrays(prior);
  assertEquals(a.factor.shape, [D, R]);
  const back = lowRankFromArrays(a.mean, a.diag, a.factor);
  assertEquals(Array.from(back.factor), Array.from(prior.factor));
  assertEquals(back.rank, R);
  let message = "";
  try {
    lowRankFromArrays(a.mean, a.diag, { shape: [D - 1, R], data: a.factor.data.slice(R) });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(/factor \[35,3\]/.test(message), message);
});

Deno.test("low-rank denoiser matches the dense Gaussian denoiser, σ per row", async () => {
  await initBackend("wasm");
  const prior = randomLowRank(D, R, 2);
  const rng = Rng.fromSeed(3);
  const b = 5, sig = [0.01, 0.1, 0.5, 2, 10];
  const x = tf.tensor4d(Float32Array.from({ length: b * D }, () => 2 * rng.normal()), [b, H, W, 1]);
  const sigma = tf.tensor1d(sig);
  const low = lowRankDenoiser(prior), dense = gaussianDenoiser(denseOf(prior));
  const [a, e] = [low(x, sigma).dataSync(), dense(x, sigma).dataSync()];
  let err = 0;
  for (let t = 0; t < a.length; t++) err = Math.max(err, Math.abs(a[t] - e[t]));
  assert(err < 2e-4, `denoiser error ${err}`);
  low.dispose(), dense.dispose(), tf.dispose([x, sigma]);
});

Deno.test("low-rank posterior under masking: mean, covariance and evidence equal the dense closed forms", () => {
  const prior = randomLowRank(D, R, 4);
  const obs = maskObservations(6, 1e-2, 5);
  const { meanErr, covErr, evErr } = compareWithDense(prior, obs);
  assert(meanErr < 1e-8 && covErr < 1e-8 && evErr < 1e-8, `errors ${meanErr} ${covErr} ${evErr}`);
  // The sampling pass's evidence (shared factorisations) is the same number.
  const { logEvidence } = sampleLowRankPosterior(prior, obs, 1, 0, { withEvidence: true });
  assertEquals(logEvidence, lowRankLogEvidence(prior, obs));
});

Deno.test("low-rank posterior in a Fourier basis: dense closed forms, and a clear error for a non-isotropic d", () => {
  const family = fourierTestFamily(H, W);
  const params = { weights: fourierWeights(5, D, 6) };
  const obs = observe(family, params, 5, 1e-2, 7);
  const prior = randomLowRank(D, R, 8, true);
  const { meanErr, covErr, evErr } = compareWithDense(prior, obs);
  assert(meanErr < 1e-8 && covErr < 1e-8 && evErr < 1e-8, `errors ${meanErr} ${covErr} ${evErr}`);
  let message = "";
  try {
    lowRankPosteriorMean(randomLowRank(D, R, 8, false), obs);
  } catch (e) {
    message = (e as Error).message;
  }
  assert(/isotropic diagonal/.test(message), message);
});

Deno.test("low-rank posterior without a normal form (blur): conjugate gradients match the dense closed form", () => {
  const family = blurOperator({ xShape: [H, W, 1], width: 1 });
  const obs = observe(family, {}, 3, 1e-2, 9);
  obs.params = family.corrupt({ shape: [1, H, W, 1], data: new Float32Array(D) }, 1, 0).params;
  const prior = randomLowRank(D, R, 10);
  const { meanErr, covErr } = compareWithDense(prior, obs, false);
  assert(meanErr < 1e-6 && covErr < 1e-6, `errors ${meanErr} ${covErr}`);
  const { info } = lowRankPosteriorMean(prior, obs);
  assertEquals(info.method, "cg");
  assert(info.cg!.maxRelResidual <= 1e-10, `CG residual ${info.cg!.maxRelResidual}`);
});

Deno.test("Matheron samples of a masked observation have the exact posterior moments", () => {
  const prior = randomLowRank(D, R, 11);
  const one = maskObservations(1, 1e-2, 12);
  const n = 20000;
  const y = { shape: [n, H, W, 1], data: new Float32Array(n * D) };
  const mask = { shape: [n, H, W, 1], data: new Uint8Array(n * D) };
  for (let i = 0; i < n; i++) y.data.set(one.y.data, i * D), mask.data.set(one.params.mask.data, i * D);
  const obs = { ...one, y, params: { mask } };
  const { x } = sampleLowRankPosterior(prior, obs, 13);
  const m = sampleMoments({ shape: [n, D], data: x.data });
  const post = gaussianPosterior(denseOf(prior), one);
  let covErr = 0, covNorm = 0;
  for (let j = 0; j < D; j++) {
    const se = Math.sqrt(post.cov![j * D + j] / n);
    assertNear(m.mean[j], post.mean[j], 4 * se + 1e-6, `mean[${j}]`);
  }
  for (let t = 0; t < D * D; t++) covErr += (m.cov.data[t] - post.cov![t]) ** 2, covNorm += post.cov![t] ** 2;
  assert(Math.sqrt(covErr / covNorm) < 0.05, `covariance relative error ${Math.sqrt(covErr / covNorm)}`);
  assert(denseCov(prior).rows === D, "dense oracle");
});
