/**
 * EDM preconditioning (Karras et al. 2022): turns a network F into a denoiser
 * d(x, σ) = c_skip x + c_out F(c_in x, emb(log σ)) with, for data of scale σ_data,
 * c_skip = σ_data²/(σ²+σ_data²), c_out = σ σ_data/√(σ²+σ_data²), c_in = 1/√(σ²+σ_data²).
 * σ_data is a property of the model: the DSM loss weights by the same σ_data ({@link dsmLoss}), and a
 * trained model records it, so that training and sampling agree. Default 1 (data standardised to about
 * unit variance, as the manifold benchmark and images scaled to [−1, 1]).
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

/** Options of {@link edmDenoiser}. */
export interface EDMOptions {
  /** Per-row condition `[B, features]` of a conditional network (DiffEM); the caller disposes it. */
  condition?: tf.Tensor;
  /** σ_data, the data scale the preconditioning assumes (default 1). */
  sigmaData?: number;
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
export function edmDenoiser(net: NoiseConditionedNet, options: EDMOptions = {}): Denoiser {
  const sd = options.sigmaData ?? 1, sd2 = sd * sd;
  return (x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const s = perRow(sigma, x.rank);
      const s2p1 = tf.add(tf.square(s), sd2);
      const cIn = tf.rsqrt(s2p1);
      // Multiplying by σ_data = 1 is exact in floating point: the unit-scale results are unchanged.
      const cSkip = tf.mul(tf.reciprocal(s2p1), sd2);
      const cOut = tf.mul(tf.mul(s, cIn), sd);
      const emb = sinusoidalEmbedding(tf.log(sigma), net.embeddingFeatures);
      const f = net.apply(tf.mul(x, cIn), emb, options.condition);
      return tf.add(tf.mul(x, cSkip), tf.mul(f, cOut));
    });
}
