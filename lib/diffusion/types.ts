/**
 * Types shared by the diffusion core and the posterior samplers.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/**
 * A denoiser d(x_t, σ) ≈ E[x | x_t]: `x` is a batch `[B, ...event]`, `sigma` is `[B]`, the result has
 * the shape of `x`. Posterior denoisers (MMPS) and conditional models have the same type once
 * bound to their observations, so every sampler takes any of them.
 */
export type Denoiser = (x: tf.Tensor, sigma: tf.Tensor1D) => tf.Tensor;
