/**
 * The symmetric eigendecomposition (cyclic Jacobi) and eigenvalue clipping, which repairs
 * covariances that lost definiteness. Private to lib/linalg; import from `mod.ts`.
 *
 * @module
 */
import { identity, type Matrix, matrix, symmetrize, symmetrizeBuffer } from "./_matrix.ts";

/**
 * Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations: A = V diag(values) Vᵀ,
 * eigenvalues ascending, eigenvectors in the COLUMNS of `vectors`. Jacobi is slow for large n
 * (O(n³) per sweep, ~10 sweeps) but accurate to working precision even for tiny eigenvalues,
 * which matters for near-singular EM covariances; fine for n up to a few hundred.
 *
 * @example
 * ```ts
 * const { values, vectors } = symmetricEigen(matrix(2, 2, [2, 1, 1, 2])); // values [1, 3]
 * ```
 */
export function symmetricEigen(a: Matrix, maxSweeps = 100): { values: Float64Array; vectors: Matrix } {
  if (a.rows !== a.cols) throw new Error("symmetricEigen: not square");
  const n = a.rows;
  const m = a.data.slice();
  symmetrizeBuffer(m, n); // the rotations assume a symmetric working copy
  const v = identity(n).data;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = m[i * n + j] * m[i * n + j];
        total += x;
        if (i !== j) off += x;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        const app = m[p * n + p], aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p], akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k], aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[i * n + i] - m[j * n + j]);
  const values = new Float64Array(n);
  const vectors = matrix(n, n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src];
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * Nearest symmetric positive definite matrix with eigenvalues at least `floor` (eigenvalue
 * clipping). EM covariance refits can lose definiteness to Monte-Carlo noise; this repairs them.
 *
 * @example
 * ```ts
 * const s = clipEigenvalues(matrix(2, 2, [1, 2, 2, 1]), 1e-6);
 * ```
 */
export function clipEigenvalues(a: Matrix, floor: number): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const out = matrix(n, n);
  for (let k = 0; k < n; k++) {
    const lk = Math.max(values[k], floor);
    for (let i = 0; i < n; i++) {
      const vik = vectors.data[i * n + k] * lk;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out.data[i * n + j] += vik * vectors.data[j * n + k];
    }
  }
  return symmetrize(out);
}
