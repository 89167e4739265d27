/**
 * The low-rank Gaussian prior N(μ, Σ) with Σ = diag(d) + U Uᵀ (U is D × r) on flattened x ∈ R^D: the
 * Gaussian start that scales to images (docs/design.md §3, the low-rank subsection). Σ is never formed: everything it does goes
 * through d, U and r × r matrices. Its store round trip (`mean [D]`, `diag [D]`, `factor [D, r]`).
 *
 * @module
 */
import type { NDArray } from "../array.ts";

/** A Gaussian N(mean, diag(diag) + factor factorᵀ) on flattened x ∈ R^D. */
export interface LowRankGaussian {
  /** μ, length D. */
  mean: Float64Array;
  /** d, length D, every entry > 0. */
  diag: Float64Array;
  /** U, row-major D × r. */
  factor: Float64Array;
  /** r, the number of columns of U. */
  rank: number;
}

/**
 * N(0, I) with a zero factor of rank r: the low-rank fit's starting point.
 *
 * @example
 * ```ts
 * const prior = standardLowRankGaussian(36, 4); // Σ = I, U = 0 (36 × 4)
 * ```
 */
export function standardLowRankGaussian(d: number, rank: number): LowRankGaussian {
  return {
    mean: new Float64Array(d),
    diag: new Float64Array(d).fill(1),
    factor: new Float64Array(d * rank),
    rank,
  };
}

/**
 * Check a low-rank Gaussian's sizes and that d > 0 everywhere; returns D.
 *
 * @example
 * ```ts
 * const d = checkLowRank(prior);
 * ```
 */
export function checkLowRank(prior: LowRankGaussian): number {
  const d = prior.mean.length;
  if (prior.diag.length !== d || prior.factor.length !== d * prior.rank) {
    throw new Error(
      `low-rank Gaussian: mean has ${d} entries, diag ${prior.diag.length}, factor ${prior.factor.length} (expected ${d} × ${prior.rank})`,
    );
  }
  for (let j = 0; j < d; j++) {
    if (!(prior.diag[j] > 0)) {
      throw new Error(`low-rank Gaussian: diag[${j}] = ${prior.diag[j]} is not positive`);
    }
  }
  return d;
}

/**
 * Σ v = d ⊙ v + U (Uᵀ v) for one vector v (length D), in float64.
 *
 * @example
 * ```ts
 * const sv = lowRankCovTimes(prior, v);
 * ```
 */
export function lowRankCovTimes(prior: LowRankGaussian, v: ArrayLike<number>): Float64Array {
  const d = prior.mean.length, r = prior.rank, u = prior.factor;
  const t = new Float64Array(r);
  for (let j = 0; j < d; j++) for (let k = 0; k < r; k++) t[k] += u[j * r + k] * v[j];
  const out = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let acc = prior.diag[j] * v[j];
    for (let k = 0; k < r; k++) acc += u[j * r + k] * t[k];
    out[j] = acc;
  }
  return out;
}

/**
 * Whether d is one value δ·1 (the Fourier-basis posterior needs it).
 *
 * @example
 * ```ts
 * if (isotropicDiag(prior) === null) throw new Error("needs an isotropic diagonal");
 * ```
 */
export function isotropicDiag(prior: LowRankGaussian): number | null {
  const d0 = prior.diag[0];
  for (let j = 1; j < prior.diag.length; j++) if (prior.diag[j] !== d0) return null;
  return d0;
}

/**
 * The prior as store arrays `{ mean: [D], diag: [D], factor: [D, r] }` (float64).
 *
 * @example
 * ```ts
 * for (const [name, a] of Object.entries(lowRankToArrays(prior))) await ctx.writeArray(name, a);
 * ```
 */
export function lowRankToArrays(
  prior: LowRankGaussian,
): { mean: NDArray<Float64Array>; diag: NDArray<Float64Array>; factor: NDArray<Float64Array> } {
  const d = prior.mean.length;
  return {
    mean: { shape: [d], data: prior.mean.slice() },
    diag: { shape: [d], data: prior.diag.slice() },
    factor: { shape: [d, prior.rank], data: prior.factor.slice() },
  };
}

/**
 * The inverse of {@link lowRankToArrays} (any float dtype), with shape checks naming the arrays.
 *
 * @example
 * ```ts
 * const prior = lowRankFromArrays(await e.array("mean"), await e.array("diag"), await e.array("factor"));
 * ```
 */
export function lowRankFromArrays(mean: NDArray, diag: NDArray, factor: NDArray): LowRankGaussian {
  const d = mean.data.length;
  if (
    mean.shape.length !== 1 || diag.shape.length !== 1 || diag.shape[0] !== d || factor.shape.length !== 2 ||
    factor.shape[0] !== d
  ) {
    throw new Error(
      `low-rank Gaussian: mean [${mean.shape}], diag [${diag.shape}] and factor [${factor.shape}] do not fit ([D], [D] and [D, r])`,
    );
  }
  const prior = {
    mean: Float64Array.from(mean.data),
    diag: Float64Array.from(diag.data),
    factor: Float64Array.from(factor.data),
    rank: factor.shape[1],
  };
  checkLowRank(prior);
  return prior;
}
