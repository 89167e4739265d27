/**
 * The posterior covariance C = (Σ⁻¹ + AᵀA/σ²)⁻¹ of one observation under a low-rank Gaussian
 * Σ = diag(d) + U Uᵀ, applied to vectors without ever forming a D × D matrix (docs/design.md §3, the low-rank subsection).
 *
 * With AᵀA = Q diag(w) Qᵀ ({@link NormalOperator}) and diag(d) diagonal in the same basis (always for the
 * pixel basis; an isotropic d = δ·1 for the Fourier basis), two Woodbury steps give
 *
 *   C = Q diag(d f) Qᵀ + (F U) G⁻¹ (F U)ᵀ,   f = 1 / (1 + d w / σ²),   F = Q diag(f) Qᵀ,
 *   G = I_r + Uᵀ E U,   E = Q diag(e) Qᵀ,   e = w / (σ² + d w),
 *
 * and the matrix determinant lemma log|I + Σ AᵀA/σ²| = Σ_j log(1 + d_j w_j / σ²) + log|G|. G ⪰ I, so its
 * Cholesky factor is always well conditioned. Operators without a normal form (blur) apply C by a
 * preconditioned conjugate gradient on Σ⁻¹ + AᵀA/σ² (preconditioner Σ), to a tight tolerance.
 * Private to lib/gaussian.
 *
 * @module
 */
import { choleskyInPlace, forwardSubstituteInPlace } from "../linalg/mod.ts";
import type { NormalOperator, OperatorFamily, OperatorParams } from "../operators/mod.ts";
import { isotropicDiag, lowRankCovTimes, type LowRankGaussian } from "./lowrank.ts";

/**
 * Solve (L Lᵀ) x = b in place, L the lower-triangular n × n factor.
 *
 * @example
 * ```ts
 * cholSolveInPlace(Float64Array.of(2, 0, 1, 1), b, 2); // b ← (L Lᵀ)⁻¹ b
 * ```
 */
export function cholSolveInPlace(l: Float64Array, b: Float64Array, n: number): void {
  forwardSubstituteInPlace(l, 0, b, 0, n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/** Functions of (w_j, d_j) in the basis where AᵀA and diag(d) are both diagonal. */
interface SharedBasis {
  /** Q diag(g(w, d)) Qᵀ v. */
  apply(g: (w: number, d: number) => number, v: Float64Array): Float64Array;
  /** Σ_j g(w_j, d_j). */
  sum(g: (w: number, d: number) => number): number;
}

function sharedBasis(prior: LowRankGaussian, normal: NormalOperator): SharedBasis {
  const w = normal.weights, d = prior.diag;
  if (normal.basis === "pixel") {
    return {
      apply: (g, v) => v.map((vj, j) => g(w[j], d[j]) * vj),
      sum: (g) => w.reduce((acc, wj, j) => acc + g(wj, d[j]), 0),
    };
  }
  const delta = isotropicDiag(prior);
  if (delta === null) {
    throw new Error(
      `the exact low-rank posterior in the ${normal.basis} basis needs an isotropic diagonal (d = δ·1): fit it with this operator`,
    );
  }
  return {
    apply: (g, v) => normal.applyFunction((wj) => g(wj, delta), v),
    sum: (g) => w.reduce((acc, wj) => acc + g(wj, delta), 0),
  };
}

/** C applied to vectors, for one observation. */
export interface PosteriorCovariance {
  /** C b. */
  times(b: Float64Array): Float64Array;
}

/**
 * The Woodbury form of C for an operator with a normal form (see the module doc).
 *
 * @example
 * ```ts
 * const c = new WoodburyPosterior(prior, family.normal(params, i)!, sigmaY);
 * const cb = c.times(b), logdet = c.logDet();
 * ```
 */
export class WoodburyPosterior implements PosteriorCovariance {
  readonly #basis: SharedBasis;
  readonly #s2: number;
  readonly #r: number;
  /** F U, D × r row-major. */
  readonly fu: Float64Array;
  /** Cholesky factor of G (r × r). */
  readonly l: Float64Array;

  constructor(prior: LowRankGaussian, normal: NormalOperator, sigmaY: number) {
    const d = prior.mean.length, r = prior.rank, u = prior.factor;
    const s2 = sigmaY * sigmaY;
    this.#basis = sharedBasis(prior, normal);
    this.#s2 = s2;
    this.#r = r;
    this.fu = new Float64Array(d * r);
    const eu = new Float64Array(d * r);
    const fOf = (w: number, dj: number) => 1 / (1 + (dj * w) / s2),
      eOf = (w: number, dj: number) => w / (s2 + dj * w);
    if (normal.basis === "pixel") {
      // F and E are diagonal: scale U's rows (most rows of E U vanish where nothing is observed).
      for (let j = 0; j < d; j++) {
        const f = fOf(normal.weights[j], prior.diag[j]), e = eOf(normal.weights[j], prior.diag[j]);
        for (let k = 0; k < r; k++) this.fu[j * r + k] = f * u[j * r + k], eu[j * r + k] = e * u[j * r + k];
      }
    } else {
      const col = new Float64Array(d);
      for (let k = 0; k < r; k++) {
        for (let j = 0; j < d; j++) col[j] = u[j * r + k];
        const fcol = this.#basis.apply(fOf, col), ecol = this.#basis.apply(eOf, col);
        for (let j = 0; j < d; j++) this.fu[j * r + k] = fcol[j], eu[j * r + k] = ecol[j];
      }
    }
    // G = I + Uᵀ E U, symmetric positive definite (≥ I); rows of E U that are zero add nothing.
    const g = new Float64Array(r * r);
    for (let j = 0; j < d; j++) {
      let zero = true;
      for (let k = 0; k < r && zero; k++) zero = eu[j * r + k] === 0;
      if (zero) continue;
      for (let a = 0; a < r; a++) {
        const ua = u[j * r + a], row = a * r;
        for (let b = 0; b <= a; b++) g[row + b] += ua * eu[j * r + b];
      }
    }
    // choleskyInPlace reads the lower triangle only.
    for (let a = 0; a < r; a++) g[a * r + a] += 1;
    if (!choleskyInPlace(g, 0, r)) throw new Error("low-rank posterior: I + Uᵀ E U is not positive definite");
    this.l = g;
  }

  times(b: Float64Array): Float64Array {
    const r = this.#r, s2 = this.#s2, fu = this.fu, d = b.length;
    const out = this.#basis.apply((w, dj) => dj / (1 + (dj * w) / s2), b);
    const t = new Float64Array(r);
    for (let j = 0; j < d; j++) for (let k = 0; k < r; k++) t[k] += fu[j * r + k] * b[j];
    cholSolveInPlace(this.l, t, r);
    for (let j = 0; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += fu[j * r + k] * t[k];
      out[j] += acc;
    }
    return out;
  }

  /** log|I + Σ AᵀA/σ²| by the matrix determinant lemma. */
  logDet(): number {
    const s2 = this.#s2, r = this.#r;
    let logdet = this.#basis.sum((w, dj) => Math.log1p((dj * w) / s2));
    for (let k = 0; k < r; k++) logdet += 2 * Math.log(this.l[k * r + k]);
    return logdet;
  }

  /** tr C = Σ_j d_j f_j + ‖L⁻¹ (F U)ᵀ‖²_F. */
  trace(): number {
    const s2 = this.#s2, r = this.#r, fu = this.fu, d = fu.length / r;
    let tr = this.#basis.sum((w, dj) => dj / (1 + (dj * w) / s2));
    const row = new Float64Array(r);
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < r; k++) row[k] = fu[j * r + k];
      forwardSubstituteInPlace(this.l, 0, row, 0, r);
      for (let k = 0; k < r; k++) tr += row[k] * row[k];
    }
    return tr;
  }
}

/** Settings and counters of the conjugate-gradient fallback. */
export interface CgStats {
  /** Relative residual to reach (default 1e-10). */
  rtol: number;
  /** Iteration cap (default 4·D). */
  maxiter: number;
  /** Largest iteration count and relative residual seen (updated by every solve). */
  maxIterations: number;
  maxRelResidual: number;
}

/**
 * C b = (Σ⁻¹ + AᵀA/σ²)⁻¹ b by conjugate gradients preconditioned with Σ, for operators without a normal
 * form: Σ⁻¹ by Woodbury (r × r, shared by all observations), AᵀA by the host operator.
 *
 * @example
 * ```ts
 * const stats = { rtol: 1e-10, maxiter: 4 * d, maxIterations: 0, maxRelResidual: 0 };
 * const cb = new CgPosterior(prior, sigmaInverse(prior), family, params, sigmaY, stats).times(b);
 * ```
 */
export class CgPosterior implements PosteriorCovariance {
  readonly #prior: LowRankGaussian;
  readonly #precision: (v: Float64Array) => Float64Array;
  readonly #stats: CgStats;

  constructor(
    prior: LowRankGaussian,
    sigmaInverse: (v: Float64Array) => Float64Array,
    family: OperatorFamily,
    params: OperatorParams,
    sigmaY: number,
    stats: CgStats,
  ) {
    const s2 = sigmaY * sigmaY, shape = [1, ...family.xShape];
    this.#prior = prior;
    this.#stats = stats;
    this.#precision = (v) => {
      const ata = family.adjointHost(family.applyHost({ shape, data: v }, params), params).data;
      const out = sigmaInverse(v);
      for (let j = 0; j < v.length; j++) out[j] += ata[j] / s2;
      return out;
    };
  }

  times(b: Float64Array): Float64Array {
    const d = b.length, stats = this.#stats;
    const x = new Float64Array(d), res = b.slice();
    let z = lowRankCovTimes(this.#prior, res);
    const p = z.slice();
    let rz = dot(res, z);
    const bnorm = Math.sqrt(dot(b, b));
    let iterations = 0, rel = bnorm > 0 ? 1 : 0;
    while (rel > stats.rtol && iterations < stats.maxiter) {
      const ap = this.#precision(p);
      const alpha = rz / dot(p, ap);
      for (let j = 0; j < d; j++) x[j] += alpha * p[j], res[j] -= alpha * ap[j];
      iterations++;
      rel = Math.sqrt(dot(res, res)) / bnorm;
      z = lowRankCovTimes(this.#prior, res);
      const rzNext = dot(res, z);
      const beta = rzNext / rz;
      rz = rzNext;
      for (let j = 0; j < d; j++) p[j] = z[j] + beta * p[j];
    }
    stats.maxIterations = Math.max(stats.maxIterations, iterations);
    stats.maxRelResidual = Math.max(stats.maxRelResidual, rel);
    return x;
  }
}

/**
 * Σ⁻¹ v = v/d − (U/d) M⁻¹ (U/d)ᵀ v with M = I + Uᵀ diag(1/d) U (factored once here).
 *
 * @example
 * ```ts
 * const inv = sigmaInverse(prior);
 * const w = inv(v); // Σ⁻¹ v
 * ```
 */
export function sigmaInverse(prior: LowRankGaussian): (v: Float64Array) => Float64Array {
  const d = prior.mean.length, r = prior.rank, u = prior.factor, diag = prior.diag;
  const m = new Float64Array(r * r);
  for (let j = 0; j < d; j++) {
    for (let a = 0; a < r; a++) {
      for (let b = 0; b < r; b++) m[a * r + b] += (u[j * r + a] * u[j * r + b]) / diag[j];
    }
  }
  for (let a = 0; a < r; a++) m[a * r + a] += 1;
  if (!choleskyInPlace(m, 0, r)) throw new Error("low-rank Gaussian: I + Uᵀ D⁻¹ U is not positive definite");
  return (v) => {
    const t = new Float64Array(r);
    for (let j = 0; j < d; j++) for (let k = 0; k < r; k++) t[k] += (u[j * r + k] * v[j]) / diag[j];
    cholSolveInPlace(m, t, r);
    const out = new Float64Array(d);
    for (let j = 0; j < d; j++) {
      let acc = v[j];
      for (let k = 0; k < r; k++) acc -= u[j * r + k] * t[k];
      out[j] = acc / diag[j];
    }
    return out;
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}
