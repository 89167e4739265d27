/**
 * Cholesky factorisation, triangular solves and what they give for symmetric positive definite
 * matrices (solve, inverse). The in-place kernels work on flat buffers with an offset so that
 * the batched posterior code allocates nothing per observation. Private to lib/linalg; import
 * from `mod.ts`.
 *
 * @module
 */
import type { Matrix } from "./_matrix.ts";

/**
 * In-place Cholesky factorisation of the `n × n` SPD block of `buf` starting at `offset`: on
 * return the lower triangle holds L (A = L Lᵀ) and the strict upper triangle is zeroed.
 * Returns false (and leaves the block partially overwritten) when a pivot is not positive.
 * This is the allocation-free kernel behind {@link cholesky} and the batched posterior code.
 *
 * @example
 * ```ts
 * const buf = Float64Array.of(4, 2, 2, 3);
 * choleskyInPlace(buf, 0, 2); // buf = [2, 0, 1, √2]
 * ```
 */
export function choleskyInPlace(buf: Float64Array, offset: number, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = offset + j * n;
    let d = buf[rj + j];
    for (let k = 0; k < j; k++) d -= buf[rj + k] * buf[rj + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    buf[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = offset + i * n;
      let s = buf[ri + j];
      for (let k = 0; k < j; k++) s -= buf[ri + k] * buf[rj + k];
      buf[ri + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) buf[rj + k] = 0;
  }
  return true;
}

/**
 * Cholesky factor L (lower triangular, A = L Lᵀ) of a symmetric positive definite matrix.
 * When A is only semi-definite (or loses definiteness to rounding) a growing diagonal jitter is
 * added, relative to the mean diagonal, up to `maxJitter`; the jitter used is returned.
 *
 * @example
 * ```ts
 * const { factor } = cholesky(matrix(2, 2, [4, 2, 2, 3]));
 * ```
 */
export function cholesky(a: Matrix, maxJitter = 1e-6): { factor: Matrix; jitter: number } {
  if (a.rows !== a.cols) throw new Error(`cholesky: matrix is ${a.rows}×${a.cols}, not square`);
  const n = a.rows;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a.data[i * n + i];
  meanDiag = Math.abs(meanDiag / Math.max(1, n)) || 1;
  let jitter = 0;
  for (;;) {
    const buf = a.data.slice();
    if (jitter > 0) { for (let i = 0; i < n; i++) buf[i * n + i] += jitter; }
    if (choleskyInPlace(buf, 0, n)) return { factor: { rows: n, cols: n, data: buf }, jitter };
    jitter = jitter === 0 ? 1e-12 * meanDiag : jitter * 10;
    if (jitter > maxJitter * meanDiag) {
      throw new Error(
        `cholesky: matrix is not positive definite (even with jitter ${jitter.toExponential(1)})`,
      );
    }
  }
}

/**
 * Solve L x = b in place for the `n × n` lower-triangular block of `l` at `lOff`, `b` a vector
 * of `n` at `bOff`.
 *
 * @example
 * ```ts
 * const b = Float64Array.of(2, 1);
 * forwardSubstituteInPlace(Float64Array.of(2, 0, 1, 1), 0, b, 0, 2); // b = [1, 0]
 * ```
 */
export function forwardSubstituteInPlace(
  l: Float64Array,
  lOff: number,
  b: Float64Array,
  bOff: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    let s = b[bOff + i];
    const ri = lOff + i * n;
    for (let k = 0; k < i; k++) s -= l[ri + k] * b[bOff + k];
    b[bOff + i] = s / l[ri + i];
  }
}
