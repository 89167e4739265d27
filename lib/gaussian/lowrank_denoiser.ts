/**
 * The exact denoiser of a low-rank Gaussian N(μ, diag(d) + U Uᵀ) in TF ops (docs/design.md §3, the low-rank subsection):
 *
 *   E[x | x_σ] = x_σ − σ² (Σ + σ² I)⁻¹ (x_σ − μ),
 *   (Σ + σ² I)⁻¹ v = v/(d + σ²) − (U/(d + σ²)) M_σ⁻¹ (U/(d + σ²))ᵀ v,   M_σ = I_r + Uᵀ diag(1/(d + σ²)) U.
 *
 * M_σ⁻¹ (r × r) depends on σ alone, not on x: it is computed on the host in float64 once per distinct σ
 * (a sampler uses one σ per step) and cached, so the result stays a TF function of x that MMPS can
 * differentiate (its VJP) like a network. Cost per row: two D × r products.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Denoiser } from "../diffusion/mod.ts";
import { checkLowRank, type LowRankGaussian } from "./lowrank.ts";
import { cholSolveInPlace } from "./_lowrank_obs.ts";
import { choleskyInPlace } from "../linalg/mod.ts";

/** Distinct σ values whose M_σ⁻¹ is kept (a sampler's grid has steps + 1 values). */
const CACHE_LIMIT = 4096;

/**
 * The exact denoiser of a low-rank Gaussian as a {@link Denoiser} on batches `[B, ...event]`
 * (D = prod(event)). It reads σ on the host (its values select the cached r × r inverses). Call
 * `dispose()` when done.
 *
 * @example
 * ```ts
 * const den = lowRankDenoiser(prior);
 * const xhat = den(xt, sigma); // μ + Σ (Σ + σ² I)⁻¹ (x − μ)
 * den.dispose();
 * ```
 */
export function lowRankDenoiser(prior: LowRankGaussian): Denoiser & { dispose(): void } {
  const d = checkLowRank(prior), r = prior.rank;
  const mu = tf.tensor2d(Float32Array.from(prior.mean), [1, d]);
  const diag = tf.tensor2d(Float32Array.from(prior.diag), [1, d]);
  const u = tf.tensor2d(Float32Array.from(prior.factor), [d, r]);
  const cache = new Map<number, Float32Array>();
  const inverseOf = (sigma: number): Float32Array => {
    let inv = cache.get(sigma);
    if (!inv) {
      if (cache.size >= CACHE_LIMIT) cache.clear();
      inv = Float32Array.from(mSigmaInverse(prior, sigma * sigma));
      cache.set(sigma, inv);
    }
    return inv;
  };
  const denoise = (x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor => {
    const b = x.shape[0];
    const sigmas = sigma.dataSync();
    const minv = new Float32Array(b * r * r);
    for (let i = 0; i < b; i++) minv.set(inverseOf(sigmas[i]), i * r * r);
    return tf.tidy(() => {
      const flat = tf.reshape(x, [b, d]) as tf.Tensor2D;
      const s2 = tf.reshape(tf.square(sigma), [b, 1]);
      const inv = tf.div(1, tf.add(diag, s2)) as tf.Tensor2D;
      const t = tf.mul(tf.sub(flat, mu), inv) as tf.Tensor2D;
      const z = tf.reshape(tf.matMul(t, u), [b, r, 1]) as tf.Tensor3D;
      const z2 = tf.reshape(tf.matMul(tf.tensor3d(minv, [b, r, r]), z), [b, r]) as tf.Tensor2D;
      const solved = tf.sub(t, tf.mul(tf.matMul(z2, u, false, true), inv));
      return tf.reshape(tf.sub(flat, tf.mul(s2, solved)), x.shape);
    });
  };
  return Object.assign(denoise, { dispose: () => tf.dispose([mu, diag, u]) });
}

/** M_σ⁻¹ = (I + Uᵀ diag(1/(d + s2)) U)⁻¹, r × r row-major, float64. */
function mSigmaInverse(prior: LowRankGaussian, s2: number): Float64Array {
  const d = prior.mean.length, r = prior.rank, u = prior.factor;
  const m = new Float64Array(r * r);
  for (let j = 0; j < d; j++) {
    const w = 1 / (prior.diag[j] + s2);
    for (let a = 0; a < r; a++) {
      const ua = u[j * r + a] * w;
      if (ua === 0) continue;
      for (let c = 0; c <= a; c++) m[a * r + c] += ua * u[j * r + c];
    }
  }
  for (let a = 0; a < r; a++) {
    m[a * r + a] += 1;
    for (let c = 0; c < a; c++) m[c * r + a] = m[a * r + c];
  }
  if (!choleskyInPlace(m, 0, r)) {
    throw new Error("low-rank denoiser: I + Uᵀ (D + σ² I)⁻¹ U is not positive definite");
  }
  const inv = new Float64Array(r * r), e = new Float64Array(r);
  for (let c = 0; c < r; c++) {
    e.fill(0);
    e[c] = 1;
    cholSolveInPlace(m, e, r);
    for (let a = 0; a < r; a++) inv[a * r + c] = e[a];
  }
  return inv;
}
