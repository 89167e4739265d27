/**
 * Exact posteriors of linear-Gaussian observations y = A x + σ_y ε under a low-rank Gaussian prior
 * N(μ, diag(d) + U Uᵀ) (docs/design.md §3, the low-rank subsection), never forming a D × D matrix.
 *
 * With b = Aᵀ (y − A μ) / σ² and C = (Σ⁻¹ + AᵀA/σ²)⁻¹ (applied by `_lowrank_obs.ts`: Woodbury with r × r
 * systems when the operator has a normal form, a conjugate gradient otherwise):
 *
 *   mean = μ + C b,
 *   log p(y) = −½ [ ‖y − Aμ‖²/σ² − bᵀ C b + k log(2πσ²) + log|I + Σ AᵀA/σ²| ]   (k informative rows),
 *
 * and samples by Matheron's rule: x̃ = μ + √d ⊙ z₁ + U z₂ ~ N(μ, Σ), then
 * x = x̃ + C Aᵀ (y − A x̃ − σ ε) / σ² (= x̃ + Σ Aᵀ (A Σ Aᵀ + σ² I)⁻¹ (y − A x̃ − σ ε)).
 *
 * @module
 */
import { type NDArray, numel } from "../array.ts";
import { type CorruptionRng, rowStreamsFor } from "../operators/mod.ts";
import type { LinearGaussianObservations } from "./posterior.ts";
import { checkLowRank, type LowRankGaussian } from "./lowrank.ts";
import {
  CgPosterior,
  type CgStats,
  type PosteriorCovariance,
  sigmaInverse,
  WoodburyPosterior,
} from "./_lowrank_obs.ts";

export type { PosteriorCovariance };

/** How the posterior covariance was applied: Woodbury (normal form) or conjugate gradients (with its figures). */
export interface LowRankSolveInfo {
  method: "woodbury" | "cg";
  /** The CG settings and the worst iteration count / relative residual seen (method "cg"). */
  cg?: CgStats;
}

/** Options of the CG fallback. */
export interface LowRankCgOptions {
  /** Relative residual of each CG solve (default 1e-10). */
  cgRtol?: number;
  /** Iteration cap of each CG solve (default 4·D). */
  cgMaxiter?: number;
}

/** Rows per chunk of the host operator calls (bounds memory). */
const CHUNK = 256;

/**
 * The per-observation posterior covariances of `obs` under `prior`: `of(i)` for observation i. Operators
 * without a normal form share one Σ⁻¹ and one set of CG counters (`info`).
 *
 * @example
 * ```ts
 * const post = posteriorCovariances(prior, obs);
 * const c0b = post.of(0).times(b); // C_0 b
 * ```
 */
export function posteriorCovariances(
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  options: LowRankCgOptions = {},
): { of(i: number): PosteriorCovariance; info: LowRankSolveInfo; n: number; d: number } {
  const d = checkLowRank(prior);
  if (numel(obs.family.xShape) !== d) {
    throw new Error(
      `low-rank Gaussian has dimension ${d}, operator acts on x of size ${numel(obs.family.xShape)}`,
    );
  }
  if (!(obs.sigmaY > 0)) {
    throw new Error(`sigma_y must be positive for an exact posterior, got ${obs.sigmaY}`);
  }
  const n = obs.y.shape[0];
  if (n === 0 || obs.family.normal(obs.params, 0) !== null) {
    return {
      of: (i) => new WoodburyPosterior(prior, obs.family.normal(obs.params, i)!, obs.sigmaY),
      info: { method: "woodbury" },
      n,
      d,
    };
  }
  const cg: CgStats = {
    rtol: options.cgRtol ?? 1e-10,
    maxiter: options.cgMaxiter ?? 4 * d,
    maxIterations: 0,
    maxRelResidual: 0,
  };
  const inverse = sigmaInverse(prior);
  const family = obs.family;
  return {
    of: (i) =>
      new CgPosterior(prior, inverse, family, family.sliceParams(obs.params, i, i + 1), obs.sigmaY, cg),
    info: { method: "cg", cg },
    n,
    d,
  };
}

/**
 * The posterior covariance C_i = (Σ⁻¹ + A_iᵀA_i/σ²)⁻¹ of observation `index` as an operator (`times(v)`):
 * Woodbury with r × r systems, or conjugate gradients for operators without a normal form.
 *
 * @example
 * ```ts
 * const c0 = lowRankPosteriorCovariance(prior, obs, 0).times(v); // C_0 v
 * ```
 */
export function lowRankPosteriorCovariance(
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  index: number,
  options: LowRankCgOptions = {},
): PosteriorCovariance {
  return posteriorCovariances(prior, obs, options).of(index);
}

/**
 * Aᵀ (y − A x − noise) / σ² for rows [start, stop): `x` `[n, D]` (or one row `[D]` broadcast), `noise`
 * `[n, ylen]` or none. Returns `[n, D]`.
 *
 * @example
 * ```ts
 * const b = scaledAdjointResidual(obs, 0, 256, prior.mean); // b_i = Aᵢᵀ(yᵢ − Aᵢμ)/σ²
 * ```
 */
export function scaledAdjointResidual(
  obs: LinearGaussianObservations,
  start: number,
  stop: number,
  x: Float64Array,
  noise?: Float64Array,
): Float64Array {
  const family = obs.family, n = stop - start, d = numel(family.xShape), ylen = numel(family.yShape);
  const params = family.sliceParams(obs.params, start, stop);
  const xs = x.length === d && n > 1 ? new Float64Array(n * d).map((_, i) => x[i % d]) : x;
  const ax = family.applyHost({ shape: [n, ...family.xShape], data: xs }, params).data;
  const r = new Float64Array(n * ylen);
  for (let t = 0; t < n * ylen; t++) r[t] = obs.y.data[start * ylen + t] - ax[t] - (noise ? noise[t] : 0);
  const b = family.adjointHost({ shape: [n, ...family.yShape], data: r }, params).data;
  const s2 = obs.sigmaY * obs.sigmaY;
  return b.map((v) => v / s2);
}

/**
 * Exact posterior means `[n, D]` of observations `[start, stop)` (default all).
 *
 * @example
 * ```ts
 * const { mean } = lowRankPosteriorMean(prior, { family, params, y, sigmaY: 1e-3 });
 * ```
 */
export function lowRankPosteriorMean(
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  options: { start?: number; stop?: number } & LowRankCgOptions = {},
): { mean: Float64Array; info: LowRankSolveInfo } {
  const post = posteriorCovariances(prior, obs, options);
  const start = options.start ?? 0, stop = options.stop ?? post.n, d = post.d;
  const mean = new Float64Array((stop - start) * d);
  for (let c0 = start; c0 < stop; c0 += CHUNK) {
    const c1 = Math.min(stop, c0 + CHUNK);
    const b = scaledAdjointResidual(obs, c0, c1, prior.mean);
    for (let i = c0; i < c1; i++) {
      const cb = post.of(i).times(b.subarray((i - c0) * d, (i - c0 + 1) * d));
      for (let j = 0; j < d; j++) mean[(i - start) * d + j] = prior.mean[j] + cb[j];
    }
  }
  return { mean, info: post.info };
}

/**
 * Exact posterior samples, one per observation, float32 `[N, ...xShape]` by Matheron's rule. Row i draws
 * D + r + ylen normals from its own stream (`rng` a seed with global row offset `firstRow`, or row
 * streams), so results do not depend on sharding. With `withEvidence`, the same pass also returns the mean log
 * evidence ({@link lowRankLogEvidence}) of the prior, sharing each observation's factorisation.
 *
 * @example
 * ```ts
 * const { x } = sampleLowRankPosterior(prior, obs, seed);
 * ```
 */
export function sampleLowRankPosterior(
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  rng: CorruptionRng,
  firstRow = 0,
  options: LowRankCgOptions & { withEvidence?: boolean } = {},
): { x: NDArray<Float32Array>; info: LowRankSolveInfo; logEvidence?: number } {
  const post = posteriorCovariances(prior, obs, options);
  if (options.withEvidence) needsNormalForm(post.info, obs);
  const { n, d } = post, r = prior.rank, ylen = numel(obs.family.yShape);
  const streams = rowStreamsFor(rng, n, firstRow).streams;
  const out = new Float32Array(n * d);
  let evidence = 0;
  for (let c0 = 0; c0 < n; c0 += CHUNK) {
    const c1 = Math.min(n, c0 + CHUNK), m = c1 - c0;
    const covs = Array.from({ length: m }, (_, i) => post.of(c0 + i));
    if (options.withEvidence) evidence += chunkEvidence(prior, obs, c0, c1, covs as WoodburyPosterior[]);
    const prior0 = new Float64Array(m * d), noise = new Float64Array(m * ylen), z2 = new Float64Array(r);
    for (let i = 0; i < m; i++) {
      const s = streams[c0 + i];
      for (let j = 0; j < d; j++) prior0[i * d + j] = prior.mean[j] + Math.sqrt(prior.diag[j]) * s.normal();
      for (let k = 0; k < r; k++) z2[k] = s.normal();
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += prior.factor[j * r + k] * z2[k];
        prior0[i * d + j] += acc;
      }
      for (let t = 0; t < ylen; t++) noise[i * ylen + t] = obs.sigmaY * s.normal();
    }
    const b = scaledAdjointResidual(obs, c0, c1, prior0, noise);
    for (let i = 0; i < m; i++) {
      const cb = covs[i].times(b.subarray(i * d, (i + 1) * d));
      for (let j = 0; j < d; j++) out[(c0 + i) * d + j] = prior0[i * d + j] + cb[j];
    }
  }
  const x = { shape: [n, ...obs.family.xShape], data: out };
  return { x, info: post.info, ...(options.withEvidence ? { logEvidence: evidence / n } : {}) };
}

function needsNormalForm(info: LowRankSolveInfo, obs: LinearGaussianObservations): void {
  if (info.method !== "woodbury") {
    throw new Error(
      `the low-rank log evidence needs an operator with a normal form (mask, box, fourier), not ${obs.family.kind}`,
    );
  }
}

/** Σ over observations [c0, c1) of log p(y_i), with their posterior factorisations `covs`. */
function chunkEvidence(
  prior: LowRankGaussian,
  obs: LinearGaussianObservations,
  c0: number,
  c1: number,
  covs: WoodburyPosterior[],
): number {
  const d = prior.mean.length, s2 = obs.sigmaY * obs.sigmaY, ylen = numel(obs.family.yShape);
  const params = obs.family.sliceParams(obs.params, c0, c1);
  const means = new Float64Array((c1 - c0) * d).map((_, t) => prior.mean[t % d]);
  const amu = obs.family.applyHost({ shape: [c1 - c0, ...obs.family.xShape], data: means }, params).data;
  const b = scaledAdjointResidual(obs, c0, c1, prior.mean);
  let total = 0;
  for (let i = c0; i < c1; i++) {
    const rows = obs.family.denseRows(obs.params, i);
    let rr = 0;
    for (const t of rows.yIndex) rr += (obs.y.data[i * ylen + t] - amu[(i - c0) * ylen + t]) ** 2;
    const cov = covs[i - c0];
    const bi = b.subarray((i - c0) * d, (i - c0 + 1) * d);
    const cb = cov.times(bi);
    let bcb = 0;
    for (let j = 0; j < d; j++) bcb += bi[j] * cb[j];
    total += -0.5 * (rr / s2 - bcb + rows.rows * Math.log(2 * Math.PI * s2) + cov.logDet());
  }
  return total;
}

/**
 * Mean over observations of the exact log evidence log N(y_i; A μ, A Σ Aᵀ + σ² I) over each observation's
 * informative rows, by Woodbury and the matrix determinant lemma. Needs operators with a normal form.
 *
 * @example
 * ```ts
 * const ll = lowRankLogEvidence(prior, obs);
 * ```
 */
export function lowRankLogEvidence(prior: LowRankGaussian, obs: LinearGaussianObservations): number {
  const post = posteriorCovariances(prior, obs);
  needsNormalForm(post.info, obs);
  let total = 0;
  for (let c0 = 0; c0 < post.n; c0 += CHUNK) {
    const c1 = Math.min(post.n, c0 + CHUNK);
    total += chunkEvidence(
      prior,
      obs,
      c0,
      c1,
      Array.from({ length: c1 - c0 }, (_, i) => post.of(c0 + i) as WoodburyPosterior),
    );
  }
  return total / post.n;
}
