/**
 * The per-observation linear algebra shared by the exact posterior, exact samples and the log evidence:
 * for observation i's informative rows A (k × D), K = A Σ Aᵀ + σ_y² I, its Cholesky factor L and
 * W = L⁻¹ A Σ. Private to lib/gaussian.
 *
 * @module
 */
import { numel } from "../array.ts";
import { choleskyInPlace, forwardSubstituteInPlace } from "../linalg/mod.ts";
import type { DenseRows } from "../operators/mod.ts";
import type { GaussianPrior } from "./prior.ts";
import type { LinearGaussianObservations } from "./posterior.ts";

/** Check that the prior and the observations fit; returns N and D. */
export function checkObservations(
  prior: GaussianPrior,
  obs: LinearGaussianObservations,
): { n: number; d: number } {
  const d = numel(obs.family.xShape);
  if (prior.mean.length !== d || prior.cov.rows !== d || prior.cov.cols !== d) {
    throw new Error(`Gaussian prior has dimension ${prior.mean.length}, operator acts on x of size ${d}`);
  }
  if (!(obs.sigmaY > 0)) {
    throw new Error(`sigma_y must be positive for an exact posterior, got ${obs.sigmaY}`);
  }
  const ylen = numel(obs.family.yShape);
  const n = obs.y.shape[0];
  if (obs.y.data.length !== n * ylen) {
    throw new Error(`observations y have shape [${obs.y.shape}], expected [N, ${obs.family.yShape}]`);
  }
  return { n, d };
}

/**
 * Per-observation worker: factors K for the informative rows and exposes the pieces the moments
 * and the samplers need. Shared operators (blur) are factored once.
 */
export class RowSolver {
  readonly d: number;
  readonly ylen: number;
  #prior: GaussianPrior;
  #obs: LinearGaussianObservations;
  #shared: { rows: DenseRows; l: Float64Array; w: Float64Array } | null = null;
  // Scratch buffers sized for the largest k seen.
  #l = new Float64Array(0);
  #w = new Float64Array(0);
  #as = new Float64Array(0);

  constructor(prior: GaussianPrior, obs: LinearGaussianObservations) {
    this.#prior = prior;
    this.#obs = obs;
    this.d = prior.mean.length;
    this.ylen = numel(obs.family.yShape);
    if (obs.family.perObservation.length === 0) {
      const rows = obs.family.denseRows(obs.params, 0);
      const { l, w } = this.#factor(rows, true);
      this.#shared = { rows, l: l.slice(), w: w.slice() };
    }
  }

  /** Whether every observation has the same operator (blur): {@link solve} then returns one factorisation. */
  get shared(): boolean {
    return this.#shared !== null;
  }

  /** For row `i`: informative rows, L = chol(K) (k×k) and W = L⁻¹ A Σ (k×D). Buffers are reused. */
  solve(i: number): { rows: DenseRows; l: Float64Array; w: Float64Array } {
    if (this.#shared) return this.#shared;
    const rows = this.#obs.family.denseRows(this.#obs.params, i);
    return { rows, ...this.#factor(rows, false) };
  }

  #factor(rows: DenseRows, copy: boolean): { l: Float64Array; w: Float64Array } {
    const d = this.d, k = rows.rows;
    if (this.#l.length < k * k) this.#l = new Float64Array(k * k);
    if (this.#w.length < k * d) this.#w = new Float64Array(k * d), this.#as = new Float64Array(k * d);
    const l = copy ? new Float64Array(k * k) : this.#l;
    const w = copy ? new Float64Array(k * d) : this.#w;
    const as = this.#as;
    const a = rows.a, s = this.#prior.cov.data;
    // AΣ (k×D); A of a mask is a row selection: skip its zeros.
    for (let r = 0; r < k; r++) {
      for (let j = 0; j < d; j++) as[r * d + j] = 0;
      for (let t = 0; t < d; t++) {
        const art = a[r * d + t];
        if (art === 0) continue;
        for (let j = 0; j < d; j++) as[r * d + j] += art * s[t * d + j];
      }
    }
    // K = AΣAᵀ + σ² I
    const s2 = this.#obs.sigmaY * this.#obs.sigmaY;
    for (let r = 0; r < k; r++) {
      for (let q = 0; q <= r; q++) {
        let acc = 0;
        for (let t = 0; t < d; t++) acc += as[r * d + t] * a[q * d + t];
        l[r * k + q] = acc;
        l[q * k + r] = acc;
      }
      l[r * k + r] += s2;
    }
    if (!choleskyInPlace(l, 0, k)) {
      throw new Error("Gaussian posterior: A Σ Aᵀ + σ_y² I is not positive definite");
    }
    // W = L⁻¹ AΣ, column by column of AΣ.
    const col = new Float64Array(k);
    for (let j = 0; j < d; j++) {
      for (let r = 0; r < k; r++) col[r] = as[r * d + j];
      forwardSubstituteInPlace(l, 0, col, 0, k);
      for (let r = 0; r < k; r++) w[r * d + j] = col[r];
    }
    return { l, w };
  }
}

/**
 * The whitened innovation L⁻¹ (y − A μ) of one observation, over its informative rows (`y` from `offset`),
 * written into the first k entries of `out`.
 */
export function whitenedInnovation(
  y: ArrayLike<number>,
  offset: number,
  rows: DenseRows,
  l: Float64Array,
  mu: Float64Array,
  out: Float64Array,
): void {
  const k = rows.rows, d = mu.length;
  for (let r = 0; r < k; r++) {
    let acc = y[offset + rows.yIndex[r]];
    for (let t = 0; t < d; t++) acc -= rows.a[r * d + t] * mu[t];
    out[r] = acc;
  }
  forwardSubstituteInPlace(l, 0, out, 0, k);
}
