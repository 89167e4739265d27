/**
 * Low-rank Gaussian EM (docs/design.md §3, the low-rank subsection): the Gaussian start N(μ, δ I + U Uᵀ) of image priors, fitted to
 * linear-Gaussian observations alone. Each iteration takes the exact posterior of every observation under the
 * current prior and refits μ, δ and U by PPCA ({@link ppcaStep}) to
 *
 * - `sample` (default, as the DiEM code's `fit_moments`): one exact posterior sample per observation
 *   (Matheron's rule) and their empirical moments — a Monte-Carlo EM, whose evidence fluctuates at the
 *   level of the sampling noise once converged;
 * - `exact`: the expected moments, μ = mean of E[x | y_i] and S = the covariance of the means + the mean
 *   posterior covariance, applied to blocks through each observation's Woodbury form (never D × D; holds
 *   N · D · r numbers). PPCA maximises E[log N(x; μ, δ I + U Uᵀ)] over this family, so it is a true EM step
 *   and the log evidence does not decrease (up to the accuracy of the subspace iteration).
 *
 * The diagonal is isotropic (δ·1) as in PPCA by default: the fitted prior then has an exact posterior in the
 * pixel and the Fourier basis alike. `diagonal: "pixel"` (mode `sample`, pixel-basis operators) then replaces δ
 * by each pixel's residual variance d_j = max(S_jj − Σ_k U_jk², floor), the variance the rank-r part leaves
 * at pixel j: a factor-analysis-like diagonal, so pixels that never vary (a digit's background) are not given
 * the average residual noise. It is an approximate M-step (U stays the PPCA directions), so its evidence is
 * what the convergence rule watches, as for the Monte-Carlo EM it refines. Iterations stop when the relative change of the log evidence between successive
 * iterates falls below `tol`, or at `maxIterations`; a generator, so a task checkpoints between iterations.
 *
 * @module
 */
import { deriveSeed, Rng } from "../random.ts";
import type { LinearGaussianObservations } from "./posterior.ts";
import { checkLowRank, type LowRankGaussian } from "./lowrank.ts";
import {
  lowRankLogEvidence,
  posteriorCovariances,
  sampleLowRankPosterior,
  scaledAdjointResidual,
} from "./lowrank_posterior.ts";
import { type BlockOperator, ppcaStep } from "./_ppca.ts";
import type { WoodburyPosterior } from "./_lowrank_obs.ts";

/** Options of {@link lowRankEMIterations}. */
export interface LowRankFitOptions {
  /** Posterior samples (default, Monte-Carlo EM as the DiEM code) or exact expected moments. */
  mode?: "sample" | "exact";
  /** Stop once |L_k − L_{k−1}| / |L_k| < tol (default 1e-7 exact, 3e-4 sample: see the module doc). */
  tol?: number;
  /** Stop after this many iterations at the latest (default 2000). */
  maxIterations?: number;
  /** Iteration k (1-based) samples with the row streams of deriveSeed(seed, "lowrank-em", k). */
  seed?: number;
  /** Floor of δ (default 1e-6). */
  minDiag?: number;
  /** `isotropic` (default, PPCA: δ·1) or `pixel` (each pixel's residual variance; mode `sample` only). */
  diagonal?: "isotropic" | "pixel";
  /** Subspace iterations per M-step (default 4; warm-started from the current U). */
  subspaceIterations?: number;
  /** Extra block columns of the subspace iteration (default 8). */
  oversample?: number;
}

/** Where a (resumed) fit starts. */
export interface LowRankFitStart {
  prior: LowRankGaussian;
  /** Iterations already done (0 for a fresh fit). */
  iteration: number;
  /** The starting log evidence of the last iteration done (null for a fresh fit). */
  logEvidence: number | null;
}

/** One iteration of {@link lowRankEMIterations}. */
export interface LowRankFitIteration {
  /** Iterations done, this one included (1-based). */
  iteration: number;
  /** The prior after this iteration. */
  prior: LowRankGaussian;
  /** Mean log evidence per observation of the prior this iteration started from. */
  logEvidence: number;
  /** |logEvidence − the previous iteration's| / |logEvidence|; null on a fit's first iteration. */
  relativeChange: number | null;
  /** relativeChange < tol: the fit stops after this iteration. */
  converged: boolean;
  /** Largest change of a mean entry. */
  meanChange: number;
  /** The new isotropic diagonal δ. */
  delta: number;
  /** The top r eigenvalues of the second moments the M-step fitted. */
  eigenvalues: Float64Array;
}

/**
 * The EM iterations from `start` (a fresh fit: `standardLowRankGaussian(D, r)`) until converged or
 * `maxIterations`; the last one yielded says whether it converged.
 *
 * @example
 * ```ts
 * let last;
 * for (const it of lowRankEMIterations(obs, { prior: standardLowRankGaussian(36, 4), iteration: 0, logEvidence: null })) last = it;
 * console.log(last.iteration, last.converged);
 * ```
 */
export function* lowRankEMIterations(
  obs: LinearGaussianObservations,
  start: LowRankFitStart,
  options: LowRankFitOptions = {},
): Generator<LowRankFitIteration> {
  const mode = options.mode ?? "sample";
  const tol = options.tol ?? (mode === "exact" ? 1e-7 : 3e-4);
  const maxIterations = options.maxIterations ?? 2000, seed = options.seed ?? 0;
  let { prior, iteration, logEvidence: previous } = start;
  const d = checkLowRank(prior);
  if (obs.y.shape[0] === 0) throw new Error("low-rank Gaussian EM: no observations");
  const perPixel = options.diagonal === "pixel";
  if (perPixel && mode !== "sample") {
    throw new Error('low-rank Gaussian EM: diagonal "pixel" needs mode "sample"');
  }
  while (iteration < maxIterations) {
    iteration++;
    let logEvidence: number, moments: Moments;
    if (mode === "exact") {
      logEvidence = lowRankLogEvidence(prior, obs);
      moments = exactMoments(prior, obs);
    } else {
      // One pass factors each observation once for both its evidence and its sample.
      const rng = deriveSeed(seed, "lowrank-em", iteration);
      const drawn = sampleLowRankPosterior(prior, obs, rng, 0, { withEvidence: true });
      logEvidence = drawn.logEvidence!;
      moments = sampleMoments(drawn.x.data, obs.y.shape[0], d);
    }
    const fit = ppcaStep(moments.apply, moments.trace, d, prior.factor, {
      rank: prior.rank,
      iterations: options.subspaceIterations ?? 4,
      oversample: options.oversample ?? 8,
      minDiag: options.minDiag ?? 1e-6,
      rng: Rng.fromSeed(seed, "lowrank-ppca", iteration),
    });
    const next: LowRankGaussian = {
      mean: moments.mean,
      diag: perPixel
        ? residualVariances(moments.variances, fit.factor, prior.rank, options.minDiag ?? 1e-6)
        : new Float64Array(d).fill(fit.delta),
      factor: fit.factor,
      rank: prior.rank,
    };
    const relativeChange = previous === null
      ? null
      : Math.abs(logEvidence - previous) / Math.abs(logEvidence);
    const converged = relativeChange !== null && relativeChange < tol;
    let meanChange = 0;
    for (let j = 0; j < d; j++) meanChange = Math.max(meanChange, Math.abs(next.mean[j] - prior.mean[j]));
    yield {
      iteration,
      prior: next,
      logEvidence,
      relativeChange,
      converged,
      meanChange,
      delta: fit.delta,
      eigenvalues: fit.eigenvalues,
    };
    if (converged) return;
    prior = next;
    previous = logEvidence;
  }
}

/** Second moments of N rows of D: mean, S V = Xcᵀ (Xc V) / N, tr S and (samples only) diag S. */
interface Moments {
  mean: Float64Array;
  apply: BlockOperator;
  trace: number;
  variances: Float64Array;
}

/** d_j = max(S_jj − Σ_k U_jk², floor): the variance at pixel j that the rank-r part U Uᵀ leaves. */
function residualVariances(
  variances: Float64Array,
  factor: Float64Array,
  r: number,
  floor: number,
): Float64Array {
  return variances.map((s, j) => {
    let explained = 0;
    for (let k = 0; k < r; k++) explained += factor[j * r + k] ** 2;
    return Math.max(s - explained, floor);
  });
}

/** The empirical moments of rows `x` `[n, D]` (float32 samples or float64 means). */
function sampleMoments(x: ArrayLike<number>, n: number, d: number): Moments {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const xc = new Float64Array(n * d), variances = new Float64Array(d);
  let trace = 0;
  for (let t = 0; t < n * d; t++) {
    xc[t] = x[t] - mean[t % d];
    trace += (xc[t] * xc[t]) / n;
    variances[t % d] += (xc[t] * xc[t]) / n;
  }
  const apply: BlockOperator = (v, q) => {
    const out = new Float64Array(d * q), row = new Float64Array(q);
    for (let i = 0; i < n; i++) {
      row.fill(0);
      for (let j = 0; j < d; j++) {
        const xij = xc[i * d + j];
        for (let c = 0; c < q; c++) row[c] += xij * v[j * q + c];
      }
      for (let j = 0; j < d; j++) {
        const xij = xc[i * d + j] / n;
        for (let c = 0; c < q; c++) out[j * q + c] += xij * row[c];
      }
    }
    return out;
  };
  return { mean, apply, trace, variances };
}

/** The expected moments of the exact posteriors: the means' moments + the mean posterior covariance. */
function exactMoments(prior: LowRankGaussian, obs: LinearGaussianObservations): Moments {
  const post = posteriorCovariances(prior, obs);
  const { n, d } = post;
  const covs: WoodburyPosterior[] = [];
  const means = new Float64Array(n * d);
  let covTrace = 0;
  const chunk = 256;
  for (let c0 = 0; c0 < n; c0 += chunk) {
    const c1 = Math.min(n, c0 + chunk);
    const b = scaledAdjointResidual(obs, c0, c1, prior.mean);
    for (let i = c0; i < c1; i++) {
      const cov = post.of(i) as WoodburyPosterior;
      covs.push(cov);
      const cb = cov.times(b.subarray((i - c0) * d, (i - c0 + 1) * d));
      for (let j = 0; j < d; j++) means[i * d + j] = prior.mean[j] + cb[j];
      covTrace += cov.trace() / n;
    }
  }
  const fromMeans = sampleMoments(means, n, d);
  const apply: BlockOperator = (v, q) => {
    const out = fromMeans.apply(v, q), col = new Float64Array(d);
    for (const cov of covs) {
      for (let c = 0; c < q; c++) {
        for (let j = 0; j < d; j++) col[j] = v[j * q + c];
        const cv = cov.times(col);
        for (let j = 0; j < d; j++) out[j * q + c] += cv[j] / n;
      }
    }
    return out;
  };
  return { ...fromMeans, apply, trace: fromMeans.trace + covTrace };
}
