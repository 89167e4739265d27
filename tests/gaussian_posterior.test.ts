/**
 * Exact Gaussian posterior and Gaussian EM.
 * - moments against the precision-form formula (independent code path) to 1e-9 absolute;
 * - the summed posterior covariance (EM's M-step) against the sum of the per-observation ones, shared
 *   operator (blur) included;
 * - exact sampler: empirical mean/cov of 40 000 samples within 4 standard errors;
 * - EM: log evidence never decreases (up to 1e-9), and the fit recovers a known Gaussian from
 *   projected observations (mean within 0.05, covariance entries within 0.1);
 * - EM to convergence, plain and SQUAREM: the evidence of the iterates never decreases, SQUAREM reaches
 *   plain EM's evidence in under a third of its EM steps; fully observed data converge to the closed-form
 *   maximum-likelihood fit (μ = ȳ, Σ = S_y − σ_y² I) to 1e-6;
 * - timing of 65 536 observations (printed).
 */
import { Rng } from "../lib/random.ts";
import { matmul, type Matrix, matrix, matvec, transpose } from "../lib/linalg/mod.ts";
import { blurOperator, maskOperator, type OperatorFamily, projectionOperator } from "../lib/operators/mod.ts";
import {
  gaussianEMIterations,
  gaussianEMStep,
  type GaussianFitIteration,
  type GaussianFitOptions,
  gaussianLogEvidence,
  gaussianPosterior,
  type GaussianPrior,
  priorFromArrays,
  priorToArrays,
  sampleGaussianPosterior,
  standardGaussianPrior,
  summedPosteriorCovariance,
} from "../lib/gaussian/mod.ts";
import { denseOperatorMatrix, inverseSPD } from "./linalg_fixtures.ts";
import { assertEquals } from "./assert.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
function assertClose(a: number, b: number, tol: number, msg: string): void {
  assert(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b} (tol ${tol})`);
}

function randomPrior(d: number, seed: number): GaussianPrior {
  const rng = Rng.fromSeed(seed, "prior");
  const g = matrix(d, d);
  rng.fillNormal(g.data);
  const cov = matmul(g, transpose(g));
  for (let i = 0; i < d; i++) cov.data[i * d + i] += 0.3;
  const mean = new Float64Array(d);
  rng.fillNormal(mean);
  return { mean, cov };
}

/** Draw N points from N(μ, Σ) with a Cholesky factor computed by hand. */
function drawGaussian(prior: GaussianPrior, n: number, seed: number): Float32Array {
  const d = prior.mean.length;
  const l = new Float64Array(prior.cov.data);
  // Cholesky (simple, test-local)
  for (let j = 0; j < d; j++) {
    for (let k = 0; k < j; k++) l[j * d + j] -= l[j * d + k] ** 2;
    l[j * d + j] = Math.sqrt(l[j * d + j]);
    for (let i = j + 1; i < d; i++) {
      for (let k = 0; k < j; k++) l[i * d + j] -= l[i * d + k] * l[j * d + k];
      l[i * d + j] /= l[j * d + j];
    }
    for (let k = j + 1; k < d; k++) l[j * d + k] = 0;
  }
  const rng = Rng.fromSeed(seed, "x");
  const out = new Float32Array(n * d);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    rng.fillNormal(z);
    for (let p = 0; p < d; p++) {
      let acc = prior.mean[p];
      for (let t = 0; t <= p; t++) acc += l[p * d + t] * z[t];
      out[i * d + p] = acc;
    }
  }
  return out;
}

/** Precision-form posterior of one observation from the FULL dense A (all rows of y). */
function precisionPosterior(
  prior: GaussianPrior,
  a: Matrix,
  y: ArrayLike<number>,
  sigmaY: number,
): { mean: Float64Array; cov: Matrix } {
  const d = prior.mean.length;
  const sInv = inverseSPD(prior.cov);
  const ata = matmul(transpose(a), a);
  const p = matrix(d, d);
  for (let i = 0; i < d * d; i++) p.data[i] = sInv.data[i] + ata.data[i] / sigmaY ** 2;
  const cov = inverseSPD(p);
  const rhs = matvec(sInv, prior.mean);
  const aty = matvec(transpose(a), y);
  for (let i = 0; i < d; i++) rhs[i] += aty[i] / sigmaY ** 2;
  return { mean: matvec(cov, rhs), cov };
}

const families: [string, OperatorFamily][] = [
  ["projection", projectionOperator({ xShape: [5], m: 2 })],
  ["mask", maskOperator({ xShape: [5], keep: 0.5 })],
  ["blur", blurOperator({ xShape: [6], kernel: [0.2, 0.5, 0.3] })],
];

for (const [name, family] of families) {
  Deno.test(`gaussian: ${name}: moments match the precision-form posterior`, () => {
    const d = family.xShape.reduce((a, b) => a * b, 1);
    const prior = randomPrior(d, 1);
    const x = { shape: [10, ...family.xShape], data: drawGaussian(prior, 10, 2) };
    const sigmaY = 0.1;
    const { y, params } = family.corrupt(x, 3, sigmaY);
    const post = gaussianPosterior(prior, { family, params, y, sigmaY });
    const ylen = family.yShape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < 10; i++) {
      const ref = precisionPosterior(
        prior,
        denseOperatorMatrix(family, params, i),
        y.data.subarray(i * ylen, (i + 1) * ylen),
        sigmaY,
      );
      for (let p = 0; p < d; p++) {
        assertClose(post.mean[i * d + p], ref.mean[p], 1e-9, `${name} mean[${i},${p}]`);
      }
      for (let p = 0; p < d * d; p++) {
        assertClose(post.cov![i * d * d + p], ref.cov.data[p], 1e-9, `${name} cov[${i},${p}]`);
      }
    }
  });
}

for (const [name, family] of families) {
  Deno.test(`gaussian: ${name}: the summed posterior covariance is the sum of the per-observation ones`, () => {
    const d = family.xShape.reduce((a, b) => a * b, 1), n = 12;
    const prior = randomPrior(d, 8);
    const { y, params } = family.corrupt(
      { shape: [n, ...family.xShape], data: drawGaussian(prior, n, 9) },
      10,
      0.1,
    );
    const obs = { family, params, y, sigmaY: 0.1 };
    const cov = gaussianPosterior(prior, obs).cov!;
    const sum = summedPosteriorCovariance(prior, obs);
    for (let p = 0; p < d * d; p++) {
      let expected = 0;
      for (let i = 0; i < n; i++) expected += cov[i * d * d + p];
      assertClose(sum[p], expected, 1e-9, `${name} summed cov[${p}]`);
    }
  });
}

Deno.test("gaussian: exact sampler matches the posterior moments", () => {
  const family = projectionOperator({ xShape: [5], m: 2 });
  const d = 5, n = 40000, sigmaY = 0.2;
  const prior = randomPrior(d, 4);
  const one = family.corrupt({ shape: [1, 5], data: drawGaussian(prior, 1, 5) }, 6, sigmaY);
  // The same observation repeated n times: every sample targets one posterior.
  const mats = new Float32Array(n * 10), ys = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) mats.set(one.params.matrices.data, i * 10), ys.set(one.y.data, i * 2);
  const obs = {
    family,
    params: { matrices: { shape: [n, 2, 5], data: mats } },
    y: { shape: [n, 2], data: ys },
    sigmaY,
  };
  const exact = gaussianPosterior(prior, obs, { start: 0, stop: 1 });
  const xs = sampleGaussianPosterior(prior, obs, 7);
  const m = new Float64Array(d), c = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let p = 0; p < d; p++) m[p] += xs.data[i * d + p] / n;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        c[p * d + q] += (xs.data[i * d + p] - m[p]) * (xs.data[i * d + q] - m[q]) / n;
      }
    }
  }
  for (let p = 0; p < d; p++) {
    const sd = Math.sqrt(exact.cov![p * d + p]);
    assertClose(m[p], exact.mean[p], 4 * sd / Math.sqrt(n), `sample mean[${p}]`);
    for (let q = 0; q < d; q++) {
      const se = Math.sqrt((exact.cov![p * d + p] * exact.cov![q * d + q] + exact.cov![p * d + q] ** 2) / n);
      assertClose(c[p * d + q], exact.cov![p * d + q], 4 * se + 1e-12, `sample cov[${p},${q}]`);
    }
  }
});

Deno.test("gaussian: EM is monotone and recovers a Gaussian from projections", () => {
  const family = projectionOperator({ xShape: [5], m: 2 });
  const d = 5, n = 20000, sigmaY = 0.05;
  const truth = randomPrior(d, 8);
  const { y, params } = family.corrupt({ shape: [n, d], data: drawGaussian(truth, n, 9) }, 10, sigmaY);
  const obs = { family, params, y, sigmaY };
  let prior = standardGaussianPrior(d);
  let last = -Infinity;
  const t0 = performance.now();
  for (let k = 0; k < 60; k++) {
    const { prior: next, stats } = gaussianEMStep(prior, obs);
    assert(
      stats.logEvidence! >= last - 1e-9,
      `evidence decreased at iteration ${k}: ${stats.logEvidence} < ${last}`,
    );
    last = stats.logEvidence!;
    prior = next;
  }
  const perIter = (performance.now() - t0) / 60;
  console.log(`gaussianEMStep, N=${n}, D=5, m=2: ${perIter.toFixed(1)} ms/iteration`);
  for (let p = 0; p < d; p++) assertClose(prior.mean[p], truth.mean[p], 0.05, `mean[${p}]`);
  const scale = Math.max(...Array.from(truth.cov.data, Math.abs));
  for (let i = 0; i < d * d; i++) assertClose(prior.cov.data[i], truth.cov.data[i], 0.1 * scale, `cov[${i}]`);
  // Round trip through NDArrays (what a task checkpoints).
  const arrays = priorToArrays(prior);
  const back = priorFromArrays(arrays.mean, arrays.cov);
  assert(back.cov.data.every((v, i) => v === prior.cov.data[i]), "prior round trip");
  // The Monte-Carlo variant runs and lands near the exact one.
  const mc = gaussianEMStep(prior, obs, { mode: "sample", seed: 1 }).prior;
  for (let p = 0; p < d; p++) assertClose(mc.mean[p], prior.mean[p], 0.1, `MC mean[${p}]`);
});

/** Every iteration of a fit from N(0, I), the last one last. */
function fitToConvergence(
  obs: Parameters<typeof gaussianEMIterations>[0],
  options: GaussianFitOptions,
): GaussianFitIteration[] {
  const d = numelOf(obs.family);
  return [
    ...gaussianEMIterations(
      obs,
      { prior: standardGaussianPrior(d), iteration: 0, logEvidence: null },
      options,
    ),
  ];
}
const numelOf = (family: OperatorFamily) => family.xShape.reduce((a, b) => a * b, 1);

Deno.test("gaussian: EM to convergence, plain and SQUAREM: monotone evidence, SQUAREM needs a third of the steps", () => {
  const family = projectionOperator({ xShape: [5], m: 2 });
  const d = 5, n = 2000, sigmaY = 0.05;
  const truth = randomPrior(d, 21);
  const { y, params } = family.corrupt({ shape: [n, d], data: drawGaussian(truth, n, 22) }, 23, sigmaY);
  const obs = { family, params, y, sigmaY };
  const runs = {
    plain: fitToConvergence(obs, { acceleration: "none", tol: 1e-9, maxIterations: 5000 }),
    squarem: fitToConvergence(obs, { tol: 1e-9 }),
  };
  const final: Record<string, number> = {};
  for (const [name, its] of Object.entries(runs)) {
    const last = its.at(-1)!;
    assert(last.converged, `${name} converged within max_iterations`);
    for (let k = 1; k < its.length; k++) {
      assert(
        its[k].logEvidence >= its[k - 1].logEvidence - 1e-12,
        `${name}: evidence decreased at iteration ${k + 1}: ${its[k].logEvidence} < ${
          its[k - 1].logEvidence
        }`,
      );
    }
    final[name] = gaussianLogEvidence(last.prior, obs);
    assert(final[name] >= last.logEvidence - 1e-12, `${name}: the returned prior is no worse than its start`);
  }
  const steps = (its: GaussianFitIteration[]) => its.reduce((s, it) => s + it.emSteps, 0);
  console.log(
    `EM to tol 1e-9: plain ${steps(runs.plain)} EM steps (L = ${final.plain}), SQUAREM ${
      steps(runs.squarem)
    } EM steps (L = ${final.squarem}), ${runs.squarem.filter((it) => it.extrapolated).length} extrapolations`,
  );
  assert(runs.squarem.some((it) => it.extrapolated), "SQUAREM extrapolated at least once");
  assert(
    final.squarem >= final.plain - 1e-8,
    `SQUAREM reaches plain EM's evidence: ${final.squarem} vs ${final.plain}`,
  );
  assert(3 * steps(runs.squarem) <= steps(runs.plain), "SQUAREM needs at most a third of plain EM's steps");
  // Resuming from any iteration's state continues exactly as the uninterrupted fit.
  const k = 3;
  const resumed = [
    ...gaussianEMIterations(obs, {
      prior: runs.squarem[k - 1].prior,
      iteration: k,
      logEvidence: runs.squarem[k - 1].logEvidence,
    }, { tol: 1e-9 }),
  ];
  assertEquals(resumed.map((it) => it.logEvidence), runs.squarem.slice(k).map((it) => it.logEvidence));
  assertEquals(resumed.at(-1)!.prior, runs.squarem.at(-1)!.prior);
});

Deno.test("gaussian: EM on fully observed data converges to the closed-form maximum-likelihood fit", () => {
  const family = maskOperator({ xShape: [4], keep: 1 });
  const d = 4, n = 3000, sigmaY = 0.1;
  const truth = randomPrior(d, 31);
  const { y, params } = family.corrupt({ shape: [n, d], data: drawGaussian(truth, n, 32) }, 33, sigmaY);
  // y_i = x_i + σ_y ε_i ~ N(μ, Σ + σ_y² I): the MLE is μ = ȳ, Σ = S_y − σ_y² I (when positive definite).
  const mean = new Float64Array(d), cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let p = 0; p < d; p++) mean[p] += y.data[i * d + p] / n;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        cov[p * d + q] += (y.data[i * d + p] - mean[p]) * (y.data[i * d + q] - mean[q]) / n;
      }
    }
  }
  for (let p = 0; p < d; p++) cov[p * d + p] -= sigmaY * sigmaY;
  for (const acceleration of ["squarem", "none"] as const) {
    const last = fitToConvergence({ family, params, y, sigmaY }, {
      acceleration,
      tol: 1e-13,
      maxIterations: 5000,
    }).at(-1)!;
    for (let p = 0; p < d; p++) assertClose(last.prior.mean[p], mean[p], 1e-6, `${acceleration} mean[${p}]`);
    for (let i = 0; i < d * d; i++) {
      assertClose(last.prior.cov.data[i], cov[i], 1e-6, `${acceleration} cov[${i}]`);
    }
  }
});

Deno.test("gaussian: SQUAREM with Monte-Carlo EM is refused", () => {
  const family = maskOperator({ xShape: [2], keep: 1 });
  const { y, params } = family.corrupt({ shape: [4, 2], data: new Float32Array(8) }, 1, 0.1);
  const obs = { family, params, y, sigmaY: 0.1 };
  let message = "";
  try {
    fitToConvergence(obs, { mode: "sample", acceleration: "squarem" });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(/squarem.*needs mode "exact"/.test(message), message);
  assertEquals(fitToConvergence(obs, { mode: "sample", maxIterations: 3 }).map((it) => it.emSteps), [
    1,
    1,
    1,
  ]);
});

Deno.test("gaussian: 65 536 observations, timing", () => {
  const family = projectionOperator({ xShape: [5], m: 2 });
  const n = 65536;
  const prior = randomPrior(5, 11);
  const { y, params } = family.corrupt({ shape: [n, 5], data: drawGaussian(prior, n, 12) }, 13, 0.01);
  const obs = { family, params, y, sigmaY: 0.01 };
  let t = performance.now();
  gaussianPosterior(prior, obs);
  const tMoments = performance.now() - t;
  t = performance.now();
  const xs = sampleGaussianPosterior(prior, obs, 14);
  const tSample = performance.now() - t;
  t = performance.now();
  gaussianEMStep(prior, obs);
  const tStep = performance.now() - t;
  console.log(
    `N=65536 D=5 m=2: moments ${tMoments.toFixed(0)} ms, samples ${tSample.toFixed(0)} ms, EM step ${
      tStep.toFixed(0)
    } ms`,
  );
  assert(xs.data.every(Number.isFinite), "finite samples");
});
