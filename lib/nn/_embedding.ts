/**
 * Sinusoidal embedding of a scalar per row (the log noise level): features [sin(x ω_k), cos(x ω_k)] with
 * frequencies ω_k = (1e-4)^(k / (E/2 − 1)), k = 0 … E/2 − 1, i.e. (1e-4)^linspace(0, 1, E/2) (docs/design.md §2).
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedSinusoidalEmbedding } from "../tensor/mod.ts";

/** The E/2 frequencies (1e-4)^linspace(0, 1, E/2). */
function embeddingFrequencies(features: number): Float32Array {
  if (features % 2 !== 0 || features < 2) {
    throw new Error(`embedding features must be even ≥ 2, got ${features}`);
  }
  const half = features / 2;
  const f = new Float32Array(half);
  for (let k = 0; k < half; k++) f[k] = Math.pow(1e-4, half === 1 ? 0 : k / (half - 1));
  return f;
}

/**
 * Embed `values` `[B]` as `[B, features]`: first the sines, then the cosines.
 *
 * @example
 * ```ts
 * const emb = sinusoidalEmbedding(tf.log(sigma), 64); // [B, 64]
 * ```
 */
export function sinusoidalEmbedding(values: tf.Tensor1D, features: number): tf.Tensor2D {
  return tf.tidy(() => {
    // On wasm one kernel (rows equal to the previous one are copied: a sampler step shares σ).
    const fused = fusedSinusoidalEmbedding(
      tf.reshape(values, [-1]),
      tf.tensor1d(embeddingFrequencies(features)),
    );
    if (fused) return fused;
    const freqs = tf.tensor2d(embeddingFrequencies(features), [1, features / 2]);
    const angles = tf.mul(tf.reshape(values, [-1, 1]), freqs);
    return tf.concat([tf.sin(angles), tf.cos(angles)], 1) as tf.Tensor2D;
  });
}
