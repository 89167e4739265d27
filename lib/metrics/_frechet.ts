/**
 * The Fréchet distance between two feature sets (the FID's formula on any features): the squared
 * 2-Wasserstein distance between the Gaussians with the sets' means and covariances,
 *
 *   FD = ‖μ₁ − μ₂‖² + tr(S₁ + S₂ − 2 (S₁^{1/2} S₂ S₁^{1/2})^{1/2}),
 *
 * in float64 on the host. The matrix square roots come from the symmetric eigendecomposition (lib/linalg,
 * Jacobi: accurate for the small eigenvalues of rank-deficient feature covariances); negative eigenvalues
 * that rounding leaves in a PSD matrix are clipped to 0. Covariances are unbiased (divided by N − 1), as
 * `numpy.cov` in the FID reference code.
 *
 * Private to lib/metrics; import from `mod.ts`.
 *
 * @module
 */
import { type Matrix, symmetricEigen } from "../linalg/mod.ts";
import type { NDArray } from "../array.ts";
import { sampleMoments } from "./_moments.ts";

/** A feature set's first two moments (what the Fréchet distance compares). */
export interface FeatureMoments {
  mean: Float64Array;
  /** The unbiased covariance (divided by N − 1). */
  cov: Matrix;
}

/**
 * Mean and unbiased covariance of a feature set `[N, F]` (N ≥ 2).
 *
 * @example
 * ```ts
 * const m = featureMoments({ shape: [3, 1], data: Float32Array.of(0, 1, 2) }); // mean [1], cov [[1]]
 * ```
 */
export function featureMoments(features: NDArray): FeatureMoments {
  const n = features.shape[0];
  if (features.shape.length !== 2 || n < 2) {
    throw new Error(`Fréchet distance: features must be [N, F] with N ≥ 2, got [${features.shape}]`);
  }
  const { mean, cov } = sampleMoments(features);
  const scale = n / (n - 1);
  for (let i = 0; i < cov.data.length; i++) cov.data[i] *= scale;
  return { mean, cov };
}

/** S^{1/2} of a symmetric positive semi-definite S (eigenvalues clipped at 0), and tr(S^{1/2}). */
function psdSqrt(s: Matrix): { root: Matrix; trace: number } {
  const n = s.rows;
  const { values, vectors } = symmetricEigen(s);
  const root = { rows: n, cols: n, data: new Float64Array(n * n) };
  let trace = 0;
  for (let k = 0; k < n; k++) {
    const r = Math.sqrt(Math.max(values[k], 0));
    trace += r;
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors.data[i * n + k] * r;
      for (let j = 0; j < n; j++) root.data[i * n + j] += vik * vectors.data[j * n + k];
    }
  }
  return { root, trace };
}

/** a · b for n × n row-major buffers. */
function product(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/**
 * The Fréchet distance between two Gaussians given by their moments.
 *
 * @example
 * ```ts
 * const eye = { rows: 1, cols: 1, data: Float64Array.of(1) };
 * frechetFromMoments({ mean: Float64Array.of(0), cov: eye }, { mean: Float64Array.of(3), cov: eye }); // 9
 * ```
 */
export function frechetFromMoments(a: FeatureMoments, b: FeatureMoments): number {
  const n = a.mean.length;
  if (b.mean.length !== n || a.cov.rows !== n || b.cov.rows !== n) {
    throw new Error(`Fréchet distance: feature dimensions ${n} and ${b.mean.length} differ`);
  }
  let meanTerm = 0, traces = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (a.mean[i] - b.mean[i]) ** 2;
    traces += a.cov.data[i * n + i] + b.cov.data[i * n + i];
  }
  // Non-finite features (a diverged sample) make the distance undefined: say so without iterating on NaN.
  if (!Number.isFinite(meanTerm + traces)) return NaN;
  const rootA = psdSqrt(a.cov).root.data;
  // M = S₁^{1/2} S₂ S₁^{1/2} is symmetric PSD, so tr(M^{1/2}) is the sum of the roots of its eigenvalues.
  const m = product(product(rootA, b.cov.data, n), rootA, n);
  const cross = psdSqrt({ rows: n, cols: n, data: m }).trace;
  // Rounding can leave −1e−13 for identical sets; the distance is ≥ 0.
  return Math.max(0, meanTerm + traces - 2 * cross);
}

/**
 * The Fréchet distance between two feature sets `[N₁, F]` and `[N₂, F]`.
 *
 * @example
 * ```ts
 * const fd = frechetDistance(sampleFeatures, referenceFeatures);
 * ```
 */
export function frechetDistance(a: NDArray, b: NDArray): number {
  return frechetFromMoments(featureMoments(a), featureMoments(b));
}
