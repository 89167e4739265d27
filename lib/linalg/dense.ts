/**
 * Small dense float64 linear algebra on the host.
 *
 * Matrices are row-major `Float64Array`s with explicit sizes ({@link Matrix}). The routines are
 * written for the sizes of Gaussian posteriors in this project (D up to a few hundred): plain
 * loops, no blocking, float64 throughout so that the exact oracles in the tests are trustworthy.
 * Batched helpers (many tiny systems) work on flat buffers with an offset so they allocate
 * nothing per observation.
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
 * A deep copy.
 *
 * @example
 * ```ts
 * const b = copyMatrix(identity(2));
 * ```
 */
export function copyMatrix(a: Matrix): Matrix {
  return { rows: a.rows, cols: a.cols, data: a.data.slice() };
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
 * `a + s·b` (new matrix).
 *
 * @example
 * ```ts
 * const c = addScaled(identity(2), identity(2), 0.5);
 * ```
 */
export function addScaled(a: Matrix, b: Matrix, s = 1): Matrix {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error("addScaled: shape mismatch");
  const c = matrix(a.rows, a.cols);
  for (let i = 0; i < c.data.length; i++) c.data[i] = a.data[i] + s * b.data[i];
  return c;
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
  const n = a.rows;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a.data[i * n + j] + a.data[j * n + i]);
      a.data[i * n + j] = v;
      a.data[j * n + i] = v;
    }
  }
  return a;
}

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

/**
 * Solve Lᵀ x = b in place (L lower triangular, so Lᵀ is upper), same layout as
 * {@link forwardSubstituteInPlace}.
 *
 * @example
 * ```ts
 * const b = Float64Array.of(1, 0);
 * backSubstituteTransposedInPlace(Float64Array.of(2, 0, 1, 1), 0, b, 0, 2);
 * ```
 */
export function backSubstituteTransposedInPlace(
  l: Float64Array,
  lOff: number,
  b: Float64Array,
  bOff: number,
  n: number,
): void {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[bOff + i];
    for (let k = i + 1; k < n; k++) s -= l[lOff + k * n + i] * b[bOff + k];
    b[bOff + i] = s / l[lOff + i * n + i];
  }
}

/**
 * Solve A X = B given the Cholesky factor L of A (B is `n × k`, or a vector).
 *
 * @example
 * ```ts
 * const { factor } = cholesky(matrix(2, 2, [4, 2, 2, 3]));
 * const x = choleskySolve(factor, matrix(2, 1, [1, 1]));
 * ```
 */
export function choleskySolve(l: Matrix, b: Matrix): Matrix {
  const n = l.rows;
  if (b.rows !== n) throw new Error(`choleskySolve: factor ${n}×${n}, right-hand side ${b.rows}×${b.cols}`);
  const x = transpose(b); // columns of b become contiguous rows
  for (let c = 0; c < b.cols; c++) {
    forwardSubstituteInPlace(l.data, 0, x.data, c * n, n);
    backSubstituteTransposedInPlace(l.data, 0, x.data, c * n, n);
  }
  return transpose(x);
}

/**
 * Solve A x = b for symmetric positive definite A (vector right-hand side).
 *
 * @example
 * ```ts
 * const x = solveSPD(matrix(2, 2, [4, 2, 2, 3]), [1, 1]);
 * ```
 */
export function solveSPD(a: Matrix, b: ArrayLike<number>): Float64Array {
  const { factor } = cholesky(a);
  const x = Float64Array.from(b);
  forwardSubstituteInPlace(factor.data, 0, x, 0, a.rows);
  backSubstituteTransposedInPlace(factor.data, 0, x, 0, a.rows);
  return x;
}

/**
 * Inverse of a symmetric positive definite matrix (via Cholesky), exactly symmetric.
 *
 * @example
 * ```ts
 * const inv = inverseSPD(matrix(2, 2, [4, 2, 2, 3]));
 * ```
 */
export function inverseSPD(a: Matrix): Matrix {
  const { factor } = cholesky(a);
  return symmetrize(choleskySolve(factor, identity(a.rows)));
}

/**
 * log det A for symmetric positive definite A.
 *
 * @example
 * ```ts
 * logDetSPD(identity(3)); // 0
 * ```
 */
export function logDetSPD(a: Matrix): number {
  const { factor } = cholesky(a, 0);
  let s = 0;
  for (let i = 0; i < a.rows; i++) s += Math.log(factor.data[i * a.rows + i]);
  return 2 * s;
}

/**
 * Solve a general square system A x = b by LU with partial pivoting (used where A is not
 * symmetric, e.g. checking operators' dense forms).
 *
 * @example
 * ```ts
 * const x = solveLU(matrix(2, 2, [0, 1, 1, 0]), [2, 3]); // [3, 2]
 * ```
 */
export function solveLU(a: Matrix, b: ArrayLike<number>): Float64Array {
  const n = a.rows;
  if (a.cols !== n || b.length !== n) throw new Error("solveLU: shape mismatch");
  const m = a.data.slice();
  const x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let p = k, best = Math.abs(m[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(m[i * n + k]);
      if (v > best) best = v, p = i;
    }
    if (best === 0) throw new Error("solveLU: matrix is singular");
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[p * n + j];
        m[p * n + j] = t;
      }
      const t = x[k];
      x[k] = x[p];
      x[p] = t;
    }
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / m[k * n + k];
      if (f === 0) continue;
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let j = i + 1; j < n; j++) s -= m[i * n + j] * x[j];
    x[i] = s / m[i * n + i];
  }
  return x;
}

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
  // Symmetrise the working copy: the rotations assume it.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
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
