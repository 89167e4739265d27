/**
 * LU factorisation with partial pivoting for many small general (non-symmetric) systems at once:
 * the m × m systems of the exact MMPS path (lib/guidance), one per observation, where a learned
 * Jacobian makes the matrix non-symmetric so Cholesky does not apply. Private to lib/linalg;
 * import from `mod.ts`.
 *
 * @module
 */

/**
 * Solve A_b x_b = r_b for every b, with A stored as `count` row-major `n × n` blocks in `a` and
 * the right-hand sides as `count` blocks of `n` in `r`. Gaussian elimination with partial
 * (row) pivoting, float64. `a` and `r` are overwritten (the factors and the solutions): the
 * solutions are returned in `r`. Throws naming the block when a pivot is exactly zero (singular).
 *
 * @example
 * ```ts
 * const a = Float64Array.of(0, 1, 2, 0); // [[0, 1], [2, 0]]: needs a row swap
 * const r = Float64Array.of(3, 4);
 * luSolveBatchedInPlace(a, r, 1, 2); // r = [2, 3]
 * ```
 */
export function luSolveBatchedInPlace(
  a: Float64Array,
  r: Float64Array,
  count: number,
  n: number,
): Float64Array {
  if (a.length < count * n * n || r.length < count * n) {
    throw new Error(
      `luSolveBatched: ${count} systems of size ${n} need ${count * n * n} + ${count * n} entries`,
    );
  }
  for (let s = 0; s < count; s++) {
    const ao = s * n * n, ro = s * n;
    for (let k = 0; k < n; k++) {
      // Pivot: the largest |a[i, k]| for i ≥ k.
      let p = k, best = Math.abs(a[ao + k * n + k]);
      for (let i = k + 1; i < n; i++) {
        const v = Math.abs(a[ao + i * n + k]);
        if (v > best) best = v, p = i;
      }
      if (best === 0) throw new Error(`luSolveBatched: system ${s} is singular (column ${k})`);
      if (p !== k) {
        for (let j = 0; j < n; j++) {
          const t = a[ao + k * n + j];
          a[ao + k * n + j] = a[ao + p * n + j];
          a[ao + p * n + j] = t;
        }
        const t = r[ro + k];
        r[ro + k] = r[ro + p];
        r[ro + p] = t;
      }
      const pivot = a[ao + k * n + k];
      for (let i = k + 1; i < n; i++) {
        const f = a[ao + i * n + k] / pivot;
        if (f === 0) continue;
        a[ao + i * n + k] = f;
        for (let j = k + 1; j < n; j++) a[ao + i * n + j] -= f * a[ao + k * n + j];
        r[ro + i] -= f * r[ro + k];
      }
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = r[ro + i];
      for (let j = i + 1; j < n; j++) v -= a[ao + i * n + j] * r[ro + j];
      r[ro + i] = v / a[ao + i * n + i];
    }
  }
  return r;
}
