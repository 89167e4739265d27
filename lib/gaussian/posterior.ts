/**
 * Exact Gaussian posteriors for linear-Gaussian observations (docs/design.md §3).
 *
 * Prior x ~ N(μ, Σ); observation y_i = A_i x + σ_y ε. Per observation, with the informative rows
 * A of A_i (a mask keeps only its observed entries; see {@link DenseRows}):
 *
 *   K = A Σ Aᵀ + σ_y² I,   mean = μ + Σ Aᵀ K⁻¹ (y − A μ),   cov = Σ − Σ Aᵀ K⁻¹ A Σ.
 *
 * This "gain" form solves a k×k system (k = informative rows, 2 for the projection benchmark)
 * and never inverts Σ, so it stays well defined when EM drives Σ towards singularity. With
 * L = chol(K) and W = L⁻¹ A Σ: cov = Σ − Wᵀ W and mean = μ + Wᵀ L⁻¹ (y − A μ).
 *
 * Exact samples use Matheron's rule (perturbation): x₀ ~ N(μ, Σ), y₀ = A x₀ + σ_y ε₀,
 * x = x₀ + Σ Aᵀ K⁻¹ (y − y₀). It needs chol(Σ) once and the per-row K already factored, never the
 * (possibly near-singular) posterior covariance's own factor.
 *
 * Everything is host float64 with allocation-light loops: 65 536 observations of D = 5 take
 * tens of milliseconds.
 *
 * @module
 */
import { cholesky, forwardSubstituteInPlace } from "../linalg/mod.ts";
import {
  type CorruptionRng,
  type OperatorFamily,
  type OperatorParams,
  rowStreamsFor,
} from "../operators/mod.ts";
import type { NDArray } from "../array.ts";
import type { GaussianPrior } from "./prior.ts";
import { checkObservations, RowSolver, whitenedInnovation } from "./_rows.ts";

/** Observations y_i = A_i x_i + σ_y ε with the operator family and its parameters. */
export interface LinearGaussianObservations {
  family: OperatorFamily;
  /** Parameters of all N observations (per-observation arrays have N rows). */
  params: OperatorParams;
  /** Observations `[N, ...yShape]`. */
  y: NDArray;
  /** Noise standard deviation σ_y (> 0). */
  sigmaY: number;
}

/** Posterior moments of N observations, row-major. */
export interface PosteriorMoments {
  n: number;
  d: number;
  /** `[N, D]` posterior means. */
  mean: Float64Array;
  /** `[N, D, D]` posterior covariances (omitted when not asked for). */
  cov?: Float64Array;
}

/**
 * Exact posterior moments of observations `[start, stop)` (default all): means `[n, D]` and, with
 * `withCov` (default true), covariances `[n, D, D]`.
 *
 * @example
 * ```ts
 * const post = gaussianPosterior(prior, { family, params, y, sigmaY: 0.01 });
 * const mean0 = post.mean.subarray(0, 5);
 * ```
 */
export function gaussianPosterior(
  prior: GaussianPrior,
  obs: LinearGaussianObservations,
  options: { start?: number; stop?: number; withCov?: boolean } = {},
): PosteriorMoments {
  const { n: total, d } = checkObservations(prior, obs);
  const start = options.start ?? 0, stop = options.stop ?? total;
  const withCov = options.withCov ?? true;
  const n = stop - start;
  const mean = new Float64Array(n * d);
  const cov = withCov ? new Float64Array(n * d * d) : undefined;
  const solver = new RowSolver(prior, obs);
  const mu = prior.mean, sigma = prior.cov.data, ylen = solver.ylen;
  let innov = new Float64Array(0);
  for (let i = 0; i < n; i++) {
    const row = start + i;
    const { rows, l, w } = solver.solve(row);
    const k = rows.rows;
    if (innov.length < k) innov = new Float64Array(k);
    whitenedInnovation(obs.y.data, row * ylen, rows, l, mu, innov);
    const mo = i * d;
    for (let j = 0; j < d; j++) {
      let acc = mu[j];
      for (let r = 0; r < k; r++) acc += w[r * d + j] * innov[r];
      mean[mo + j] = acc;
    }
    if (cov) {
      const co = i * d * d;
      for (let p = 0; p < d; p++) {
        for (let q = p; q < d; q++) {
          let acc = sigma[p * d + q];
          for (let r = 0; r < k; r++) acc -= w[r * d + p] * w[r * d + q];
          cov[co + p * d + q] = acc;
          cov[co + q * d + p] = acc;
        }
      }
    }
  }
  return { n, d, mean, cov };
}

/**
 * The sum over observations of the posterior covariances, Σ_i Cov[x | y_i] = Σ_i (Σ − W_iᵀ W_i) with W_i =
 * L_i⁻¹ A_i Σ (`[D, D]`, row-major): what Gaussian EM's M-step needs of them, without the `[N, D, D]` array.
 * For an operator shared by every observation (blur) the covariance is the same for all of them and is
 * computed once (D² k instead of N D² k operations).
 *
 * @example
 * ```ts
 * const sum = summedPosteriorCovariance(prior, obs); // N · Cov[x | y] for a shared blur
 * ```
 */
export function summedPosteriorCovariance(
  prior: GaussianPrior,
  obs: LinearGaussianObservations,
): Float64Array {
  const { n, d } = checkObservations(prior, obs);
  const solver = new RowSolver(prior, obs);
  const wtw = new Float64Array(d * d); // Σ_i W_iᵀ W_i, upper triangle
  const addWtW = (w: Float64Array, k: number, times: number) => {
    for (let r = 0; r < k; r++) {
      for (let p = 0; p < d; p++) {
        const wp = times * w[r * d + p];
        if (wp === 0) continue;
        for (let q = p; q < d; q++) wtw[p * d + q] += wp * w[r * d + q];
      }
    }
  };
  if (solver.shared) {
    const { rows, w } = solver.solve(0);
    addWtW(w, rows.rows, n);
  } else {
    for (let i = 0; i < n; i++) {
      const { rows, w } = solver.solve(i);
      addWtW(w, rows.rows, 1);
    }
  }
  const sigma = prior.cov.data, out = new Float64Array(d * d);
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      const v = n * sigma[p * d + q] - wtw[p * d + q];
      out[p * d + q] = v;
      out[q * d + p] = v;
    }
  }
  return out;
}

/**
 * Exact samples x_i ~ p(x | y_i) under the Gaussian prior, one per observation, as float32
 * `[N, ...xShape]`. Row i draws D + k normals from its own stream (`rng` a {@link RowStreams} or
 * a seed with global row offset `firstRow`), so results do not depend on sharding.
 *
 * @example
 * ```ts
 * const x = sampleGaussianPosterior(prior, obs, seed); // x.shape = [N, 5]
 * ```
 */
export function sampleGaussianPosterior(
  prior: GaussianPrior,
  obs: LinearGaussianObservations,
  rng: CorruptionRng,
  firstRow = 0,
): NDArray<Float32Array> {
  const { n, d } = checkObservations(prior, obs);
  const rows = rowStreamsFor(rng, n, firstRow);
  const { factor: lPrior } = cholesky(prior.cov, 1e-6);
  const solver = new RowSolver(prior, obs);
  const out = new Float32Array(n * d);
  const z = new Float64Array(d), x0 = new Float64Array(d);
  let resid = new Float64Array(0);
  const mu = prior.mean, lp = lPrior.data, ylen = solver.ylen;
  for (let i = 0; i < n; i++) {
    const s = rows.streams[i];
    const { rows: dr, l, w } = solver.solve(i);
    const k = dr.rows;
    if (resid.length < k) resid = new Float64Array(k);
    // x₀ = μ + L_Σ z
    for (let j = 0; j < d; j++) z[j] = s.normal();
    for (let j = 0; j < d; j++) {
      let acc = mu[j];
      for (let t = 0; t <= j; t++) acc += lp[j * d + t] * z[t];
      x0[j] = acc;
    }
    // y − y₀ with y₀ = A x₀ + σ ε₀, then K⁻¹ (y − y₀) = L⁻ᵀ L⁻¹ (…); Σ Aᵀ K⁻¹ r = Wᵀ L⁻¹ r.
    for (let r = 0; r < k; r++) {
      let acc = obs.y.data[i * ylen + dr.yIndex[r]] - obs.sigmaY * s.normal();
      for (let t = 0; t < d; t++) acc -= dr.a[r * d + t] * x0[t];
      resid[r] = acc;
    }
    forwardSubstituteInPlace(l, 0, resid, 0, k);
    for (let j = 0; j < d; j++) {
      let acc = x0[j];
      for (let r = 0; r < k; r++) acc += w[r * d + j] * resid[r];
      out[i * d + j] = acc;
    }
  }
  return { shape: [n, ...obs.family.xShape], data: out };
}
