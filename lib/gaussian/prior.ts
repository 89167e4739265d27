/**
 * The Gaussian prior N(μ, Σ) on flattened x ∈ R^D: one type for the whole project (the EM start, its
 * exact posterior, its exact denoiser), and its round trip through the store.
 *
 * @module
 */
import type { NDArray } from "../array.ts";
import { identity, type Matrix, matrix } from "../linalg/mod.ts";

/** A Gaussian prior N(mean, cov) on flattened x ∈ R^D. */
export interface GaussianPrior {
  /** μ, length D. */
  mean: Float64Array;
  /** Σ, D × D. */
  cov: Matrix;
}

/**
 * The standard normal prior N(0, I) on R^D: EM's starting point.
 *
 * @example
 * ```ts
 * let prior = standardGaussianPrior(5);
 * ```
 */
export function standardGaussianPrior(d: number): GaussianPrior {
  return { mean: new Float64Array(d), cov: identity(d) };
}

/**
 * A prior as NDArrays `{ mean: [D], cov: [D, D] }` (float64) for the store or a checkpoint.
 *
 * @example
 * ```ts
 * await ctx.writeArray("mean", priorToArrays(prior).mean);
 * ```
 */
export function priorToArrays(
  prior: GaussianPrior,
): { mean: NDArray<Float64Array>; cov: NDArray<Float64Array> } {
  const d = prior.mean.length;
  return {
    mean: { shape: [d], data: prior.mean.slice() },
    cov: { shape: [d, d], data: prior.cov.data.slice() },
  };
}

/**
 * A {@link GaussianPrior} from a mean and a full covariance (row-major D×D, symmetric positive semi-definite).
 *
 * @example
 * ```ts
 * const prior = gaussianPrior([0, 0], [1, 0.5, 0.5, 1]);
 * ```
 */
export function gaussianPrior(mean: ArrayLike<number>, covariance: ArrayLike<number>): GaussianPrior {
  const d = mean.length;
  return { mean: Float64Array.from(mean), cov: matrix(d, d, Float64Array.from(covariance)) };
}

/**
 * The inverse of {@link priorToArrays} (any float dtype), with shape checks.
 *
 * @example
 * ```ts
 * const prior = priorFromArrays(await entry.array("mean"), await entry.array("cov"));
 * ```
 */
export function priorFromArrays(mean: NDArray, cov: NDArray): GaussianPrior {
  const d = mean.data.length;
  if (mean.shape.length !== 1 || cov.shape.length !== 2 || cov.shape[0] !== d || cov.shape[1] !== d) {
    throw new Error(
      `Gaussian prior: mean [${mean.shape}] and cov [${cov.shape}] do not fit ([D] and [D, D])`,
    );
  }
  return { mean: Float64Array.from(mean.data), cov: { rows: d, cols: d, data: Float64Array.from(cov.data) } };
}
