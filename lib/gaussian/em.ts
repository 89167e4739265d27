/**
 * Gaussian EM (docs/design.md §3): the maximum-likelihood Gaussian prior of linear-Gaussian observations,
 * by iterating "exact posterior of every observation, then refit μ and Σ to the expected moments". Each
 * iteration never decreases the log evidence ({@link gaussianLogEvidence}); it is the starting point of
 * both EM methods. `fit.ts` iterates it to convergence.
 *
 * @module
 */
import { clipEigenvalues, type Matrix, symmetrize } from "../linalg/mod.ts";
import type { GaussianPrior } from "./prior.ts";
import {
  gaussianPosterior,
  type LinearGaussianObservations,
  sampleGaussianPosterior,
  summedPosteriorCovariance,
} from "./posterior.ts";
import { checkObservations, RowSolver, whitenedInnovation } from "./_rows.ts";

/** Options of {@link gaussianEMStep}. */
export interface GaussianEMOptions {
  /**
   * "exact" (default): expected sufficient statistics E[x], E[x xᵀ] from the exact posterior.
   * "sample": one posterior sample per observation and their empirical moments, as the paper's
   * Monte-Carlo EM does. Exact statistics are strictly better here (no Monte-Carlo noise, same
   * fixed point); sampling is kept for comparison.
   */
  mode?: "exact" | "sample";
  /** Seed for "sample" mode (row streams of the seed). */
  seed?: number;
  /** Floor on the refitted covariance's eigenvalues (default 1e-6), keeps Σ positive definite. */
  minEigenvalue?: number;
}

/** Diagnostics of one EM iteration. */
export interface GaussianEMStats {
  /** Mean over observations of log p(y_i) under the prior BEFORE the update. */
  logEvidence: number;
  /** Largest change of a mean entry. */
  meanChange: number;
  /** Largest change of a covariance entry. */
  covChange: number;
}

/**
 * One Gaussian EM iteration: posteriors of every observation under `prior`, then μ and Σ refitted
 * to their (expected) moments (full covariance). Returns the new prior; a task can checkpoint
 * between iterations.
 *
 * @example
 * ```ts
 * let prior = standardGaussianPrior(5);
 * for (let k = 0; k < 16; k++) prior = gaussianEMStep(prior, obs).prior;
 * ```
 */
export function gaussianEMStep(
  prior: GaussianPrior,
  obs: LinearGaussianObservations,
  options: GaussianEMOptions = {},
): { prior: GaussianPrior; stats: GaussianEMStats } {
  const mode = options.mode ?? "exact";
  const { n, d } = checkObservations(prior, obs);
  if (n === 0) throw new Error("Gaussian EM: no observations");
  const s1 = new Float64Array(d), s2 = new Float64Array(d * d);
  const logEvidence = gaussianLogEvidence(prior, obs);
  if (mode === "exact") {
    // E[x xᵀ | y_i] = Cov[x | y_i] + m_i m_iᵀ; the covariances only enter through their sum.
    const post = gaussianPosterior(prior, obs, { withCov: false });
    for (let i = 0; i < n; i++) {
      const m = post.mean.subarray(i * d, (i + 1) * d);
      for (let p = 0; p < d; p++) {
        s1[p] += m[p];
        const mp = m[p];
        for (let q = p; q < d; q++) s2[p * d + q] += mp * m[q];
      }
    }
    const covSum = summedPosteriorCovariance(prior, obs);
    for (let p = 0; p < d; p++) {
      for (let q = p; q < d; q++) {
        const v = s2[p * d + q] + covSum[p * d + q];
        s2[p * d + q] = v;
        s2[q * d + p] = v;
      }
    }
  } else {
    const x = sampleGaussianPosterior(prior, obs, options.seed ?? 0);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < d; p++) {
        const xp = x.data[i * d + p];
        s1[p] += xp;
        for (let q = 0; q < d; q++) s2[p * d + q] += xp * x.data[i * d + q];
      }
    }
  }
  const mean = new Float64Array(d);
  for (let p = 0; p < d; p++) mean[p] = s1[p] / n;
  const cov: Matrix = { rows: d, cols: d, data: new Float64Array(d * d) };
  for (let p = 0; p < d; p++) {
    for (let q = 0; q < d; q++) cov.data[p * d + q] = s2[p * d + q] / n - mean[p] * mean[q];
  }
  const fixed = clipEigenvalues(symmetrize(cov), options.minEigenvalue ?? 1e-6);
  let meanChange = 0, covChange = 0;
  for (let p = 0; p < d; p++) meanChange = Math.max(meanChange, Math.abs(mean[p] - prior.mean[p]));
  for (let i = 0; i < d * d; i++) {
    covChange = Math.max(covChange, Math.abs(fixed.data[i] - prior.cov.data[i]));
  }
  return { prior: { mean, cov: fixed }, stats: { logEvidence, meanChange, covChange } };
}

/**
 * Mean over observations of the exact log evidence log N(y_i | A μ, A Σ Aᵀ + σ_y² I) (informative
 * rows only): EM must not decrease it, which the tests check.
 *
 * @example
 * ```ts
 * const ll = gaussianLogEvidence(prior, obs);
 * ```
 */
export function gaussianLogEvidence(prior: GaussianPrior, obs: LinearGaussianObservations): number {
  const { n } = checkObservations(prior, obs);
  const solver = new RowSolver(prior, obs);
  const mu = prior.mean, ylen = solver.ylen;
  let total = 0;
  let r0 = new Float64Array(0);
  for (let i = 0; i < n; i++) {
    const { rows, l } = solver.solve(i);
    const k = rows.rows;
    if (r0.length < k) r0 = new Float64Array(k);
    whitenedInnovation(obs.y.data, i * ylen, rows, l, mu, r0);
    let quad = 0, logdet = 0;
    for (let r = 0; r < k; r++) {
      quad += r0[r] * r0[r];
      logdet += 2 * Math.log(l[r * k + r]);
    }
    total += -0.5 * (quad + logdet + k * Math.log(2 * Math.PI));
  }
  return total / n;
}
