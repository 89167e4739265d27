/**
 * Denoising score matching (docs/design.md §2): L = E[λ(σ) · mean((d(x + σz, σ) − x)²)], t ~ Beta(3, 3),
 * σ = σ(t), λ(σ) = 1/σ² + 1/σ_data² = (σ² + σ_data²)/(σ σ_data)², EDM's weight: with the preconditioning
 * of `edmDenoiser` at the same σ_data it makes every noise level's loss about unit scale.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Denoiser } from "./types.ts";
import { perRow } from "./denoiser.ts";
import { sigmaAt, type VESchedule } from "./schedule.ts";
import type { Rng } from "../random.ts";

/**
 * The DSM loss of a batch `x` `[B, ...event]` at noise levels `sigma` `[B]` with standard normal `z` (shape of
 * x); `sigmaData` must be the denoiser's own (default 1).
 *
 * @example
 * ```ts
 * const loss = dsmLoss(edmDenoiser(net, { sigmaData: 0.5 }), x, sigma, z, 0.5); // scalar
 * ```
 */
export function dsmLoss(
  denoiser: Denoiser,
  x: tf.Tensor,
  sigma: tf.Tensor1D,
  z: tf.Tensor,
  sigmaData = 1,
): tf.Scalar {
  return tf.tidy(() => {
    const s = perRow(sigma, x.rank);
    const xt = tf.add(x, tf.mul(s, z));
    const err = tf.square(tf.sub(denoiser(xt, sigma), x));
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    const perSample = tf.mean(err, axes);
    const lambda = tf.add(tf.reciprocal(tf.square(sigma)), 1 / (sigmaData * sigmaData));
    return tf.mean(tf.mul(lambda, perSample)) as tf.Scalar;
  });
}

/**
 * Training noise for one batch: σ_i = σ(t_i) with t_i ~ Beta(3, 3), and z ~ N(0, I) with `size` values per row.
 *
 * @example
 * ```ts
 * const { sigma, z } = drawTrainingNoise(Rng.fromSeed(0, "step", 7), veSchedule(), 1024, 5);
 * ```
 */
export function drawTrainingNoise(
  rng: Rng,
  schedule: VESchedule,
  batch: number,
  size: number,
): { sigma: Float32Array; z: Float32Array } {
  const sigma = new Float32Array(batch);
  for (let i = 0; i < batch; i++) sigma[i] = sigmaAt(schedule, rng.betaInt(3, 3));
  const z = new Float32Array(batch * size);
  rng.fillNormal(z);
  return { sigma, z };
}
