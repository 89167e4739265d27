/**
 * Dense row-major float64 matrices ({@link Matrix}): construction, transpose, products and exact
 * symmetrisation. Private to lib/linalg; import from `mod.ts`.
 *
 * @module
 */

/** A dense row-major float64 matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/**
 * A `rows × cols` matrix of zeros, or wrapping `data` (not copied).
 *
 * @example
 * ```ts
 * const a = matrix(2, 2, [4, 1, 1, 3]);
 * ```
 */
export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (data !== undefined && data.length !== rows * cols) {
    throw new Error(`matrix: ${data.length} values given for a ${rows}×${cols} matrix`);
  }
  const d = data === undefined
    ? new Float64Array(rows * cols)
    : data instanceof Float64Array
    ? data
    : Float64Array.from(data);
  return { rows, cols, data: d };
}

/**
 * The `n × n` identity, optionally scaled.
 *
 * @example
 * ```ts
 * const i3 = identity(3);
 * ```
 */
export function identity(n: number, scale = 1): Matrix {
  const m = matrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = scale;
  return m;
}

/**
 * Transpose.
 *
 * @example
 * ```ts
 * const at = transpose(matrix(1, 2, [1, 2])); // 2×1
 * ```
 */
export function transpose(a: Matrix): Matrix {
  const t = matrix(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  }
  return t;
}

/**
 * Matrix product `a b`.
 *
 * @example
 * ```ts
 * const c = matmul(identity(2), matrix(2, 1, [1, 2]));
 * ```
 */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}×${a.cols} times ${b.rows}×${b.cols}`);
  const c = matrix(a.rows, b.cols);
  const n = a.cols, p = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const ci = i * p;
    for (let k = 0; k < n; k++) {
      const aik = a.data[i * n + k];
      if (aik === 0) continue;
      const bk = k * p;
      for (let j = 0; j < p; j++) c.data[ci + j] += aik * b.data[bk + j];
    }
  }
  return c;
}

/**
 * Matrix–vector product `a x`.
 *
 * @example
 * ```ts
 * const y = matvec(identity(2), Float64Array.of(1, 2));
 * ```
 */
export function matvec(a: Matrix, x: ArrayLike<number>): Float64Array {
  if (x.length !== a.cols) throw new Error(`matvec: ${a.rows}×${a.cols} times vector of ${x.length}`);
  const y = new Float64Array(a.rows);
  for (let i = 0; i < a.rows; i++) {
    let s = 0;
    for (let j = 0; j < a.cols; j++) s += a.data[i * a.cols + j] * x[j];
    y[i] = s;
  }
  return y;
}

/**
 * Make a matrix exactly symmetric by averaging it with its transpose (in place); rounding in
 * products like `Σ − G A Σ` leaves asymmetries that Cholesky and eigen solvers dislike.
 *
 * @example
 * ```ts
 * symmetrize(matrix(2, 2, [1, 0.5, 0.4999, 1]));
 * ```
 */
export function symmetrize(a: Matrix): Matrix {
  if (a.rows !== a.cols) throw new Error("symmetrize: not square");
  symmetrizeBuffer(a.data, a.rows);
  return a;
}

/**
 * {@link symmetrize} on the `n × n` row-major buffer `m` (in place): the kernel shared with the
 * eigensolver's working copy.
 *
 * @example
 * ```ts
 * symmetrizeBuffer(Float64Array.of(1, 0.5, 0.4999, 1), 2);
 * ```
 */
export function symmetrizeBuffer(m: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
}
