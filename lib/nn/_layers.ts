/**
 * Layer functions over explicit parameters. Each is a pure function of tensors, to be called inside `tf.tidy`.
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedGatedResidual, fusedGroupNorm, fusedLinear, fusedSiluLayerNorm } from "../tensor/mod.ts";

/**
 * y = x W + b for x `[B, in]`, W `[in, out]`, b `[out]` (one fused kernel; on wasm one whose gradient
 * computes only the parts asked for, lib/tensor/_linear.ts).
 *
 * @example
 * ```ts
 * const y = linear(x, w, b);
 * ```
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return fusedLinear(x, w, b) ?? tf.fused.matMul({ a: x, b: w, bias: b }) as tf.Tensor2D;
}

/**
 * SiLU (swish): x · sigmoid(x).
 *
 * @example
 * ```ts
 * const y = silu(tf.tensor([-1, 0, 1]));
 * ```
 */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/**
 * silu(groupNorm(x) · (1 + scale) + shift), the U-Net's normalisation, modulation by the noise embedding and
 * activation (without `modulation`: silu(groupNorm(x))). On the wasm backend it is one fused kernel each way
 * (lib/tensor/_group_norm.ts), the same function to float rounding; elsewhere it is composed of TF.js ops.
 *
 * @example
 * ```ts
 * const h = groupNormSilu(x, 8, gamma, beta, { scale, shift }); // scale, shift [B, 1, 1, C]
 * ```
 */
export function groupNormSilu(
  x: tf.Tensor4D,
  groups: number,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  modulation?: { scale: tf.Tensor; shift: tf.Tensor },
): tf.Tensor4D {
  const fused = fusedGroupNorm(x, groups, gamma, beta, 1e-5, { ...modulation, silu: true });
  if (fused) return fused;
  let h = groupNorm(x, groups, gamma, beta);
  if (modulation) h = tf.add(tf.mul(h, tf.add(modulation.scale, 1)), modulation.shift);
  return silu(h);
}

/**
 * x + gate · h, the U-Net block's gated residual (x, h [B, H, W, C], gate [B, 1, 1, C]). On the wasm backend it
 * is one fused kernel each way (lib/tensor/_gated_residual.ts), the same function to float rounding; elsewhere
 * it is composed of TF.js ops.
 *
 * @example
 * ```ts
 * const y = gatedResidual(x, gate, h);
 * ```
 */
export function gatedResidual(x: tf.Tensor4D, gate: tf.Tensor, h: tf.Tensor4D): tf.Tensor4D {
  return fusedGatedResidual(x, gate, h) ?? tf.add(x, tf.mul(gate, h));
}

/**
 * layerNorm(silu(z), γ, β) for z `[B, F]`, the MLP's hidden layer. On the wasm backend it is one fused kernel
 * each way (lib/tensor/_layer_norm.ts), the same function to float rounding; elsewhere it is composed of TF.js ops.
 *
 * @example
 * ```ts
 * const h = siluLayerNorm(linear(x, w, b), gamma, beta);
 * ```
 */
export function siluLayerNorm(z: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  return fusedSiluLayerNorm(z, gamma, beta) ?? layerNorm(silu(z), gamma, beta);
}

/**
 * Layer normalisation over the last axis with an affine map (γ, β over the last axis).
 * Written with `square(sub)` because the broadcasted `squaredDifference` has no working gradient in TF.js.
 *
 * @example
 * ```ts
 * const y = layerNorm(x, gamma, beta); // x [B, F], gamma/beta [F]
 * ```
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma?: tf.Tensor, beta?: tf.Tensor, eps = 1e-5): T {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  let y = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y as T;
}

/**
 * Group normalisation of an NHWC tensor: statistics over (H, W, channels of the group), affine per channel.
 * With γ and β on the wasm backend it is one fused kernel each way (lib/tensor/_group_norm.ts), the same
 * function to float rounding; elsewhere it is composed of TF.js ops.
 *
 * @example
 * ```ts
 * const y = groupNorm(x, 8, gamma, beta); // x [B, H, W, C], gamma/beta [C]
 * ```
 */
export function groupNorm(
  x: tf.Tensor4D,
  groups: number,
  gamma?: tf.Tensor,
  beta?: tf.Tensor,
  eps = 1e-5,
): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels not divisible into ${groups} groups`);
  const fused = gamma && beta ? fusedGroupNorm(x, groups, gamma, beta, eps) : null;
  if (fused) return fused;
  const g = tf.reshape(x, [b, h * w, groups, c / groups]);
  const mean = tf.mean(g, [1, 3], true);
  const centred = tf.sub(g, mean);
  const variance = tf.mean(tf.square(centred), [1, 3], true);
  let y = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), [b, h, w, c]) as tf.Tensor4D;
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y;
}
