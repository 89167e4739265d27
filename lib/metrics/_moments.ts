/**
 * Moment-based checks of sample sets `[N, D]` (any float dtype): sample mean and covariance,
 * their errors against a reference (the true data, or an exact Gaussian posterior), and the
 * fraction of samples outside a box — the DiEM manifold experiment discards samples with any
 * coordinate outside (−3, 3) before computing the Sinkhorn divergence, and a growing fraction is
 * the first sign of a diverging prior.
 *
 * Private to lib/metrics; import from `mod.ts`.
 *
 * @module
 */
import type { Matrix } from "../linalg/mod.ts";
import { type NDArray, numel } from "../array.ts";

function dims(x: NDArray, name: string): { n: number; d: number } {
  if (x.shape.length < 1) throw new Error(`${name} must be [N, ...], got a scalar`);
  const n = x.shape[0];
  const d = n === 0 ? numel(x.shape.slice(1)) : x.data.length / n;
  return { n, d };
}

/**
 * Sample mean and covariance (divided by N, the maximum-likelihood estimate) in float64. Rows are
 * flattened, so images work too (D = H·W·C; mind the D² memory).
 *
 * @example
 * ```ts
 * const { mean, cov } = sampleMoments({ shape: [3, 2], data: Float32Array.of(0, 0, 1, 1, 2, 2) });
 * ```
 */
export function sampleMoments(x: NDArray): { mean: Float64Array; cov: Matrix } {
  const { n, d } = dims(x, "x");
  if (n === 0) throw new Error("sampleMoments: no samples");
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x.data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) c[j] = x.data[i * d + j] - mean[j];
    for (let p = 0; p < d; p++) {
      const cp = c[p];
      for (let q = p; q < d; q++) cov[p * d + q] += cp * c[q];
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      cov[p * d + q] /= n;
      cov[q * d + p] = cov[p * d + q];
    }
  }
  return { mean, cov: { rows: d, cols: d, data: cov } };
}

/** Errors of a sample set's first two moments against a reference. */
export interface MomentErrors {
  /** ‖mean(x) − mean(ref)‖₂. */
  meanError: number;
  /** ‖cov(x) − cov(ref)‖_F. */
  covError: number;
  /** ‖cov(x) − cov(ref)‖_F / ‖cov(ref)‖_F. */
  covRelError: number;
}

/**
 * Moment errors of `x` against reference samples, or against given reference moments.
 *
 * @example
 * ```ts
 * const e = momentErrors(samples, truth); // { meanError, covError, covRelError }
 * const e2 = momentErrors(samples, { mean: prior.mean, cov: prior.cov });
 * ```
 */
export function momentErrors(
  x: NDArray,
  reference: NDArray | { mean: ArrayLike<number>; cov: Matrix },
): MomentErrors {
  const a = sampleMoments(x);
  const b = "shape" in reference ? sampleMoments(reference) : reference;
  const d = a.mean.length;
  if (b.mean.length !== d) throw new Error(`momentErrors: dimensions ${d} and ${b.mean.length} differ`);
  let me = 0, ce = 0, cn = 0;
  for (let j = 0; j < d; j++) me += (a.mean[j] - b.mean[j]) ** 2;
  for (let i = 0; i < d * d; i++) {
    ce += (a.cov.data[i] - b.cov.data[i]) ** 2;
    cn += b.cov.data[i] ** 2;
  }
  return {
    meanError: Math.sqrt(me),
    covError: Math.sqrt(ce),
    covRelError: cn > 0 ? Math.sqrt(ce / cn) : Infinity,
  };
}

/**
 * Fraction of rows with at least one coordinate outside the open box (lo, hi), or not finite.
 *
 * @example
 * ```ts
 * fractionOutsideBox(samples); // default box (−3, 3), as in the DiEM manifold experiment
 * ```
 */
export function fractionOutsideBox(x: NDArray, lo = -3, hi = 3): number {
  const { n } = dims(x, "x");
  return n === 0 ? 0 : (n - rowsInsideBox(x, lo, hi).length) / n;
}

/**
 * Indices of the rows of `x` `[N, D]` whose every entry lies in the open box (lo, hi) (NaN is outside).
 *
 * @example
 * ```ts
 * rowsInsideBox({ shape: [2, 1], data: Float32Array.of(0, 5) }); // Int32Array [0]
 * ```
 */
export function rowsInsideBox(x: NDArray, lo = -3, hi = 3): Int32Array {
  const { n, d } = dims(x, "x");
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    let rowInside = true;
    for (let j = 0; j < d; j++) {
      const v = x.data[i * d + j];
      if (!(v > lo && v < hi)) {
        rowInside = false;
        break;
      }
    }
    if (rowInside) kept.push(i);
  }
  return Int32Array.from(kept);
}
