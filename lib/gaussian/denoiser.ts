/**
 * The exact denoiser of a Gaussian prior N(μ, Σ): d(x, σ) = x − σ² (Σ + σ² I)⁻¹ (x − μ) = E[x₀ | x_σ = x].
 *
 * With Σ = U diag(λ) Uᵀ (computed once), (Σ + σ² I)⁻¹ = U diag(1/(λ + σ²)) Uᵀ for every σ at once, so a batch
 * whose rows have different σ costs two matmuls. The result is differentiable (MMPS takes its VJP).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { symmetricEigen } from "../linalg/mod.ts";
import type { Denoiser } from "../diffusion/mod.ts";
import type { GaussianPrior } from "./prior.ts";

/**
 * The exact denoiser of N(μ, Σ), as a {@link Denoiser} on batches `[B, ...event]` with D = prod(event).
 * It holds three small tensors; call `dispose()` when done.
 *
 * @example
 * ```ts
 * const d = gaussianDenoiser(gaussianPrior(mu, Sigma)); // gaussianPrior from ./prior.ts
 * const xhat = d(xt, sigma); // x − σ²(Σ + σ²I)⁻¹(x − μ)
 * d.dispose();
 * ```
 */
export function gaussianDenoiser(prior: GaussianPrior): Denoiser & { dispose(): void } {
  const d = prior.mean.length;
  // Σ = U diag(λ) Uᵀ once; λ clipped at 0 (a fitted Σ may be semi-definite up to rounding).
  const { values, vectors } = symmetricEigen(prior.cov);
  const mu = tf.tensor2d(Float32Array.from(prior.mean), [1, d]);
  const u = tf.tensor2d(Float32Array.from(vectors.data), [d, d]);
  const lambda = tf.tensor2d(Float32Array.from(values, (v) => Math.max(v, 0)), [1, d]);
  const denoise = (x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const b = x.shape[0];
      const flat = tf.reshape(x, [b, d]) as tf.Tensor2D;
      const s2 = tf.reshape(tf.square(sigma), [b, 1]);
      // Coordinates of x − μ in the eigenbasis, shrunk by σ²/(λ + σ²), mapped back.
      const coords = tf.matMul(tf.sub(flat, mu), u);
      const shrunk = tf.mul(coords, tf.div(s2, tf.add(lambda, s2)));
      return tf.reshape(tf.sub(flat, tf.matMul(shrunk, u, false, true)), x.shape);
    });
  return Object.assign(denoise, { dispose: () => tf.dispose([mu, u, lambda]) });
}
