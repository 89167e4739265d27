/**
 * The PPCA M-step of the low-rank EM (Tipping & Bishop 1999; docs/design.md §3 (low-rank subsection)): given the second-moment
 * operator S (the covariance of the posterior samples, or the expected covariance of exact posteriors),
 * applied to D × q blocks, and tr S, the maximiser of E[log N(x; μ, δ I + U Uᵀ)] is
 *
 *   U = V_r (Λ_r − δ I)^{1/2},   δ = (tr S − Σ_{k ≤ r} λ_k) / (D − r),
 *
 * with (λ_k, v_k) the top r eigenpairs of S. They come from a block subspace iteration (warm-started from the
 * current U, r + oversample columns) and a Rayleigh–Ritz step: never a D × D matrix. Private to lib/gaussian.
 *
 * @module
 */
import { matrix, symmetricEigen } from "../linalg/mod.ts";
import { Rng } from "../random.ts";

/** S applied to a D × q row-major block. */
export type BlockOperator = (v: Float64Array, q: number) => Float64Array;

/** Settings of {@link ppcaStep}. */
export interface PpcaOptions {
  rank: number;
  /** Subspace iterations (products with S) before the Rayleigh–Ritz step. */
  iterations: number;
  /** Extra columns of the block (accuracy of the top r). */
  oversample: number;
  /** Floor of δ. */
  minDiag: number;
  /** Seeds the random columns of the block. */
  rng: Rng;
}

/** Orthonormalise the columns of a D × q row-major block in place (modified Gram–Schmidt); dependent columns are redrawn. */
function orthonormalize(v: Float64Array, d: number, q: number, rng: Rng): void {
  for (let c = 0; c < q; c++) {
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += v[j * q + p] * v[j * q + c];
        for (let j = 0; j < d; j++) v[j * q + c] -= dot * v[j * q + p];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += v[j * q + c] ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-10) {
        for (let j = 0; j < d; j++) v[j * q + c] /= norm;
        break;
      }
      for (let j = 0; j < d; j++) v[j * q + c] = rng.normal();
    }
  }
}

/**
 * The PPCA fit (δ, U) of the second moments S (`apply`, `trace`) of D-dimensional data, warm-started from
 * `start` (D × r, e.g. the current U). Returns U row-major D × r and δ ≥ `minDiag`.
 *
 * @example
 * ```ts
 * const { factor, delta } = ppcaStep(applyS, traceS, d, prior.factor,
 *   { rank: 64, iterations: 4, oversample: 8, minDiag: 1e-6, rng: Rng.fromSeed(0) });
 * ```
 */
export function ppcaStep(
  apply: BlockOperator,
  trace: number,
  d: number,
  start: Float64Array,
  options: PpcaOptions,
): { factor: Float64Array; delta: number; eigenvalues: Float64Array } {
  const r = options.rank;
  if (!(r >= 1 && r < d)) {
    throw new Error(`low-rank Gaussian: rank ${r} must be at least 1 and below D = ${d}`);
  }
  const q = Math.min(d, r + options.oversample);
  let v: Float64Array = new Float64Array(d * q);
  for (let j = 0; j < d; j++) {
    for (let c = 0; c < q; c++) v[j * q + c] = c < r ? start[j * r + c] : options.rng.normal();
  }
  orthonormalize(v, d, q, options.rng);
  for (let it = 0; it < options.iterations; it++) {
    v = apply(v, q);
    orthonormalize(v, d, q, options.rng);
  }
  // Rayleigh–Ritz: H = Vᵀ S V (q × q), its eigenvectors rotate V.
  const sv = apply(v, q);
  const h = new Float64Array(q * q);
  for (let j = 0; j < d; j++) {
    for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) h[a * q + b] += v[j * q + a] * sv[j * q + b];
  }
  const { values, vectors } = symmetricEigen(matrix(q, q, h));
  // Ascending: the top r are the last r, taken largest first.
  const eigenvalues = new Float64Array(r);
  for (let k = 0; k < r; k++) eigenvalues[k] = values[q - 1 - k];
  let delta = trace;
  for (let k = 0; k < r; k++) delta -= eigenvalues[k];
  delta = Math.max(delta / (d - r), options.minDiag);
  const factor = new Float64Array(d * r);
  for (let k = 0; k < r; k++) {
    const scale = Math.sqrt(Math.max(eigenvalues[k] - delta, 0));
    const col = q - 1 - k;
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let a = 0; a < q; a++) acc += v[j * q + a] * vectors.data[a * q + col];
      factor[j * r + k] = acc * scale;
    }
  }
  return { factor, delta, eigenvalues };
}
