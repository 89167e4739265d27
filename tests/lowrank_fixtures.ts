/**
 * Fixtures of the low-rank Gaussian tests: random low-rank priors, their dense covariance, and a small
 * Fourier-basis operator family (an orthonormal real 2-D DFT with k-space weights) standing in for the
 * `fourier` family.
 *
 * @module
 */
import { Rng } from "../lib/random.ts";
import { type Matrix, matrix, symmetricEigen } from "../lib/linalg/mod.ts";
import type { GaussianPrior, LowRankGaussian } from "../lib/gaussian/mod.ts";
import type { DenseRows, OperatorFamily, OperatorParams } from "../lib/operators/mod.ts";
import type { NDArray } from "../lib/array.ts";

/** A random N(μ, diag(d) + U Uᵀ); `isotropic` gives d = δ·1. */
export function randomLowRank(d: number, rank: number, seed: number, isotropic = false): LowRankGaussian {
  const rng = Rng.fromSeed(seed, "lowrank");
  const mean = new Float64Array(d).map(() => 0.5 * rng.normal());
  const delta = 0.05 + 0.1 * rng.uniform();
  const diag = new Float64Array(d).map(() => isotropic ? delta : 0.02 + 0.3 * rng.uniform());
  const factor = new Float64Array(d * rank).map(() => 0.6 * rng.normal());
  return { mean, diag, factor, rank };
}

/** The dense D × D covariance diag(d) + U Uᵀ (test oracle only). */
export function denseCov(p: LowRankGaussian): Matrix {
  const d = p.mean.length, r = p.rank, cov = matrix(d, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let acc = i === j ? p.diag[i] : 0;
      for (let k = 0; k < r; k++) acc += p.factor[i * r + k] * p.factor[j * r + k];
      cov.data[i * d + j] = acc;
    }
  }
  return cov;
}

/** The dense prior N(μ, Σ) of a low-rank one. */
export function denseOf(p: LowRankGaussian): GaussianPrior {
  return { mean: p.mean.slice(), cov: denseCov(p) };
}

/** Orthonormal real DFT of length n as rows: DC, cos/sin pairs, Nyquist (n even). */
function realDft(n: number): Float64Array {
  const q = new Float64Array(n * n);
  for (let t = 0; t < n; t++) q[t] = 1 / Math.sqrt(n);
  let row = 1;
  for (let k = 1; k < n / 2; k++, row += 2) {
    for (let t = 0; t < n; t++) {
      q[row * n + t] = Math.sqrt(2 / n) * Math.cos((2 * Math.PI * k * t) / n);
      q[(row + 1) * n + t] = Math.sqrt(2 / n) * Math.sin((2 * Math.PI * k * t) / n);
    }
  }
  for (let t = 0; t < n; t++) q[(n - 1) * n + t] = (t % 2 ? -1 : 1) / Math.sqrt(n);
  return q;
}

/**
 * A k-space operator on `[h, w, 1]` images: y = diag(√w) Qᵀ x with Qᵀ the orthonormal real 2-D DFT, so
 * AᵀA = Q diag(w) Qᵀ; per-observation weights in {0, ½, 1} (`weights [N, D]`). Host methods only.
 */
export function fourierTestFamily(h: number, wd: number): OperatorFamily {
  const d = h * wd, qh = realDft(h), qw = realDft(wd);
  // Qᵀ x: coefficient (a, b) = Σ_{s,t} qh[a, s] qw[b, t] x[s, t].
  const forward = (x: ArrayLike<number>, off = 0): Float64Array => {
    const out = new Float64Array(d);
    for (let a = 0; a < h; a++) {
      for (let b = 0; b < wd; b++) {
        let acc = 0;
        for (let s = 0; s < h; s++) {
          for (let t = 0; t < wd; t++) acc += qh[a * h + s] * qw[b * wd + t] * x[off + s * wd + t];
        }
        out[a * wd + b] = acc;
      }
    }
    return out;
  };
  const inverse = (c: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(d);
    for (let s = 0; s < h; s++) {
      for (let t = 0; t < wd; t++) {
        let acc = 0;
        for (let a = 0; a < h; a++) {
          for (let b = 0; b < wd; b++) acc += qh[a * h + s] * qw[b * wd + t] * c[a * wd + b];
        }
        out[s * wd + t] = acc;
      }
    }
    return out;
  };
  const weightsOf = (params: OperatorParams, i: number) => params.weights.data.subarray(i * d, (i + 1) * d);
  const host = (x: NDArray, params: OperatorParams, adjoint: boolean): NDArray<Float64Array> => {
    const n = x.shape[0], out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const w = weightsOf(params, i);
      if (adjoint) {
        const c = new Float64Array(d).map((_, j) => Math.sqrt(w[j]) * x.data[i * d + j]);
        out.set(inverse(c), i * d);
      } else {
        out.set(forward(x.data, i * d).map((v, j) => Math.sqrt(w[j]) * v), i * d);
      }
    }
    return { shape: [n, ...(adjoint ? [h, wd, 1] : [d])], data: out };
  };
  const unsupported = (): never => {
    throw new Error("fourierTestFamily: host methods only");
  };
  return {
    kind: "fourier" as OperatorFamily["kind"],
    xShape: [h, wd, 1],
    yShape: [d],
    perObservation: ["weights"],
    bind: unsupported,
    corrupt: unsupported,
    validateParams: () => {},
    applyHost: (x, params) => host(x, params, false),
    adjointHost: (y, params) => host(y, params, true),
    denseRows(params, i): DenseRows {
      const w = weightsOf(params, i), idx: number[] = [];
      for (let j = 0; j < d; j++) if (w[j] > 0) idx.push(j);
      const a = new Float64Array(idx.length * d);
      idx.forEach((j, r) => {
        const e = new Float64Array(d);
        e[j] = Math.sqrt(w[j]);
        a.set(inverse(e), r * d); // row r of A = √w_j (row j of Qᵀ)
      });
      return { a, rows: idx.length, cols: d, yIndex: Int32Array.from(idx) };
    },
    normal(params, i) {
      const weights = Float64Array.from(weightsOf(params, i));
      return {
        basis: "fourier",
        weights,
        applyFunction: (f, v) => inverse(forward(v).map((c, j) => f(weights[j]) * c)),
      };
    },
    sliceParams: (params, start, stop) => ({
      weights: { shape: [stop - start, d], data: params.weights.data.slice(start * d, stop * d) },
    }),
  };
}

/** Weights in {0, ½, 1} per k-space entry for `n` observations (about `keep` of them nonzero). */
export function fourierWeights(n: number, d: number, seed: number, keep = 0.5): NDArray<Float32Array> {
  const rng = Rng.fromSeed(seed, "weights");
  const data = new Float32Array(n * d).map(() => {
    const u = rng.uniform();
    return u < keep / 2 ? 1 : u < keep ? 0.5 : 0;
  });
  return { shape: [n, d], data };
}

/** `n` draws of a low-rank Gaussian as float32 `[n, D]`. */
export function drawLowRank(p: LowRankGaussian, n: number, seed: number): Float32Array {
  const d = p.mean.length, r = p.rank, rng = Rng.fromSeed(seed, "draws");
  const x = new Float32Array(n * d), z = new Float64Array(r);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < r; k++) z[k] = rng.normal();
    for (let j = 0; j < d; j++) {
      let acc = p.mean[j] + Math.sqrt(p.diag[j]) * rng.normal();
      for (let k = 0; k < r; k++) acc += p.factor[j * r + k] * z[k];
      x[i * d + j] = acc;
    }
  }
  return x;
}

/** Sine of the largest principal angle between the column spans of two D × r factors. */
export function subspaceSine(a: Float64Array, b: Float64Array, d: number, r: number): number {
  const orth = (u: Float64Array) => {
    const q = u.slice();
    for (let c = 0; c < r; c++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += q[j * r + p] * q[j * r + c];
        for (let j = 0; j < d; j++) q[j * r + c] -= dot * q[j * r + p];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += q[j * r + c] ** 2;
      for (let j = 0; j < d; j++) q[j * r + c] /= Math.sqrt(norm);
    }
    return q;
  };
  const qa = orth(a), qb = orth(b), m = matrix(r, r);
  for (let s = 0; s < r; s++) {
    for (let t = 0; t < r; t++) {
      let acc = 0;
      for (let j = 0; j < d; j++) acc += qa[j * r + s] * qb[j * r + t];
      m.data[s * r + t] = acc;
    }
  }
  // The squared cosines are the eigenvalues of M Mᵀ.
  const mmt = matrix(r, r);
  for (let s = 0; s < r; s++) {
    for (let t = 0; t < r; t++) {
      for (let k = 0; k < r; k++) mmt.data[s * r + t] += m.data[s * r + k] * m.data[t * r + k];
    }
  }
  const cos2 = Math.min(...symmetricEigen(mmt).values);
  return Math.sqrt(Math.max(0, 1 - cos2));
}

/** ‖Σ_a − Σ_b‖_F / ‖Σ_b‖_F of two low-rank Gaussians' covariances. */
export function relativeCovError(a: LowRankGaussian, b: LowRankGaussian): number {
  const ca = denseCov(a).data, cb = denseCov(b).data;
  let e = 0, n = 0;
  for (let t = 0; t < ca.length; t++) e += (ca[t] - cb[t]) ** 2, n += cb[t] ** 2;
  return Math.sqrt(e / n);
}
