/**
 * Random matrices and dense operator matrices shared by the numerical tests.
 *
 * @module
 */
import { matmul, type Matrix, matrix, matvec, symmetricEigen, transpose } from "../lib/linalg/mod.ts";
import type { OperatorFamily, OperatorParams } from "../lib/operators/mod.ts";
import type { Rng } from "../lib/random.ts";
import type { GaussianPrior } from "../lib/gaussian/mod.ts";

/** A random symmetric positive definite d×d matrix: G Gᵀ / d + 0.2 I. */
export function randomSPD(d: number, rng: Rng): Matrix {
  const g = matrix(d, d);
  rng.fillNormal(g.data);
  const s = matmul(g, transpose(g));
  for (let i = 0; i < d * d; i++) s.data[i] /= d;
  for (let i = 0; i < d; i++) s.data[i * d + i] += 0.2;
  return s;
}

/** The full dense A_i (yLen × D) of observation `i`, by applying the host operator to basis vectors. */
export function denseOperatorMatrix(family: OperatorFamily, params: OperatorParams, i: number): Matrix {
  const d = family.xShape.reduce((a, b) => a * b, 1);
  const ylen = family.yShape.reduce((a, b) => a * b, 1);
  const single = family.sliceParams(params, i, i + 1);
  const a = matrix(ylen, d);
  for (let j = 0; j < d; j++) {
    const e = new Float64Array(d);
    e[j] = 1;
    const col = family.applyHost({ shape: [1, ...family.xShape], data: e }, single).data;
    for (let r = 0; r < ylen; r++) a.data[r * d + j] = col[r];
  }
  return a;
}

/**
 * A⁻¹ of a symmetric positive definite matrix through its eigendecomposition, V diag(1/λ) Vᵀ: an oracle for
 * the tests, independent of the Cholesky code the library solves with.
 */
export function inverseSPD(a: Matrix): Matrix {
  const n = a.rows, { values, vectors } = symmetricEigen(a);
  const out = matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += vectors.data[i * n + k] * vectors.data[j * n + k] / values[k];
      out.data[i * n + j] = acc;
    }
  }
  return out;
}

/** A⁻¹ b for a symmetric positive definite A (see {@link inverseSPD}). */
export function solveSPD(a: Matrix, b: ArrayLike<number>): Float64Array {
  return matvec(inverseSPD(a), b);
}

/** N(mu, cov) from plain arrays (cov row-major D×D). */
export function gaussianOf(mu: ArrayLike<number>, cov: ArrayLike<number>): GaussianPrior {
  return {
    mean: Float64Array.from(mu),
    cov: { rows: mu.length, cols: mu.length, data: Float64Array.from(cov) },
  };
}
