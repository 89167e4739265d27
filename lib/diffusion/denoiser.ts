/**
 * EDM preconditioning (Karras et al. 2022): turns a network F into a denoiser
 * d(x, σ) = c_skip x + c_out F(c_in x, emb(log σ)), c_skip = 1/(σ²+1), c_out = σ/√(σ²+1), c_in = 1/√(σ²+1).
 * The unit data scale in these constants assumes data standardised to about unit variance.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Denoiser } from "./types.ts";
import { type NoiseConditionedNet, sinusoidalEmbedding } from "../nn/mod.ts";

/**
 * Reshape a per-row `[B]` tensor so that it broadcasts against `[B, ...event]`.
 *
 * @example
 * ```ts
 * tf.mul(x, perRow(sigma, x.rank)); // x [B, 28, 28, 1] times σ_b per row
 * ```
 */
export function perRow(v: tf.Tensor1D, rank: number): tf.Tensor {
  return tf.reshape(v, [v.shape[0], ...new Array(rank - 1).fill(1)]);
}

/**
 * Wrap `net` into a {@link Denoiser}. A conditional network gets its per-row condition bound here (DiffEM).
 *
 * @example
 * ```ts
 * const d = edmDenoiser(new MLP({ features: 5 }, 0));
 * const xhat = d(xt, tf.fill([B], 0.5) as tf.Tensor1D);
 * ```
 */
export function edmDenoiser(net: NoiseConditionedNet, condition?: tf.Tensor): Denoiser {
  return (x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const s = perRow(sigma, x.rank);
      const s2p1 = tf.add(tf.square(s), 1);
      const cIn = tf.rsqrt(s2p1);
      const cSkip = tf.reciprocal(s2p1);
      const cOut = tf.mul(s, cIn);
      const emb = sinusoidalEmbedding(tf.log(sigma), net.embeddingFeatures);
      const f = net.apply(tf.mul(x, cIn), emb, condition);
      return tf.add(tf.mul(x, cSkip), tf.mul(f, cOut));
    });
}
