/**
 * The U-Net of docs/design.md §2 for images (NHWC): residual blocks whose GroupNorm output is modulated by the noise
 * embedding (scale, shift) and whose residual branch is gated (adaLN-Zero style: the modulation layers start at
 * zero, so every block starts as the identity), SiLU, one resolution per entry of `channels` (28 → 14 → 7 for
 * three entries), skip connections by concatenation.
 *
 * Upsampling is nearest-neighbour written as a broadcast multiply (its gradient is a plain sum, correct on every
 * backend; TF.js's cpu `ResizeNearestNeighborGrad` is wrong), downsampling a stride-2 convolution.
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NoiseConditionedNet, ParamBuilder } from "./_module.ts";
import { gatedResidual, groupNormSilu, linear, silu } from "./_layers.ts";

/** Architecture of a {@link UNet}. */
export interface UNetConfig {
  /** Image height, width, channels of one sample. */
  height: number;
  width: number;
  channels: number;
  /** Feature channels per resolution (default [32, 64, 64]). */
  features?: number[];
  /** Residual blocks per resolution, on the way down and on the way up (default 2). */
  blocksPerLevel?: number;
  /** Noise-embedding features E (default 64). */
  embeddingFeatures?: number;
  /** GroupNorm groups (default 8; must divide every entry of `features`). */
  groups?: number;
  /** Extra input channels for a conditional model (DiffEM: Aᵀy and the mask); default 0. */
  conditionChannels?: number;
}

type Vars = Record<string, tf.Variable>;

/**
 * A noise-conditioned U-Net. `apply(x [B,H,W,C], emb [B,E], condition? [B,H,W,Cc]) → [B,H,W,C]`.
 *
 * @example
 * ```ts
 * const net = new UNet({ height: 28, width: 28, channels: 1 }, 0);
 * const y = net.apply(tf.zeros([2, 28, 28, 1]), sinusoidalEmbedding(tf.zeros([2]), 64)); // [2, 28, 28, 1]
 * ```
 */
export class UNet implements NoiseConditionedNet {
  readonly embeddingFeatures: number;
  readonly eventShape: readonly number[];
  readonly conditionFeatures: number;
  readonly config: Record<string, unknown>;
  readonly #v: Vars;
  readonly #features: number[];
  readonly #blocks: number;
  readonly #groups: number;
  readonly #conditionChannels: number;
  readonly #hidden: number;

  constructor(config: UNetConfig, seed: number) {
    const features = config.features ?? [32, 64, 64];
    const blocks = config.blocksPerLevel ?? 2;
    const groups = config.groups ?? 8;
    this.embeddingFeatures = config.embeddingFeatures ?? 64;
    this.#conditionChannels = config.conditionChannels ?? 0;
    this.conditionFeatures = config.height * config.width * this.#conditionChannels;
    this.eventShape = [config.height, config.width, config.channels];
    this.#features = features;
    this.#blocks = blocks;
    this.#groups = groups;
    this.#hidden = 4 * features[0];
    this.config = {
      kind: "unet",
      ...config,
      features,
      blocksPerLevel: blocks,
      groups,
      embeddingFeatures: this.embeddingFeatures,
    };
    for (const f of features) {
      if (f % groups) throw new Error(`UNet: ${f} channels not divisible by ${groups} groups`);
    }

    const p = new ParamBuilder(seed);
    const conv = (name: string, k: number, cin: number, cout: number) => {
      const bound = 1 / Math.sqrt(k * k * cin);
      p.uniform(`${name}.weight`, [k, k, cin, cout], bound);
      p.uniform(`${name}.bias`, [cout], bound);
    };
    const dense = (name: string, cin: number, cout: number, zero = false) => {
      if (zero) {
        p.zeros(`${name}.weight`, [cin, cout]);
        p.zeros(`${name}.bias`, [cout]);
      } else {
        const bound = 1 / Math.sqrt(cin);
        p.uniform(`${name}.weight`, [cin, cout], bound);
        p.uniform(`${name}.bias`, [cout], bound);
      }
    };
    const block = (name: string, c: number) => {
      p.constant(`${name}.norm1.gamma`, [c], 1);
      p.zeros(`${name}.norm1.beta`, [c]);
      conv(`${name}.conv1`, 3, c, c);
      p.constant(`${name}.norm2.gamma`, [c], 1);
      p.zeros(`${name}.norm2.beta`, [c]);
      conv(`${name}.conv2`, 3, c, c);
      dense(`${name}.modulation`, this.#hidden, 3 * c, true);
    };
    dense("embedding.0", this.embeddingFeatures, this.#hidden);
    dense("embedding.1", this.#hidden, this.#hidden);
    conv("input", 3, config.channels + this.#conditionChannels, features[0]);
    features.forEach((c, i) => {
      for (let j = 0; j < blocks; j++) block(`down.${i}.block.${j}`, c);
      if (i + 1 < features.length) conv(`down.${i}.downsample`, 3, c, features[i + 1]);
    });
    for (let i = features.length - 2; i >= 0; i--) {
      conv(`up.${i}.upsample`, 3, features[i + 1], features[i]);
      conv(`up.${i}.merge`, 1, 2 * features[i], features[i]);
      for (let j = 0; j < blocks; j++) block(`up.${i}.block.${j}`, features[i]);
    }
    p.constant("output.norm.gamma", [features[0]], 1);
    p.zeros("output.norm.beta", [features[0]]);
    conv("output", 3, features[0], config.channels);
    this.#v = p.vars;
  }

  params(): Record<string, tf.Variable> {
    return this.#v;
  }

  #conv(name: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D {
    if (name === "input") {
      // The fused op's gradient computes dx whether or not x needs one, and the network's input seldom
      // does (training): the plain conv's gradient is lazy per input.
      return tf.add(
        tf.conv2d(x, this.#v[`${name}.weight`] as tf.Tensor4D, stride, "same"),
        this.#v[`${name}.bias`],
      );
    }
    // One fused kernel: on wasm with a BLAS the bias is added to each block of rows while it is in cache
    // (lib/tensor/_blas_conv.ts) instead of in a pass of its own.
    return tf.fused.conv2d({
      x,
      filter: this.#v[`${name}.weight`] as tf.Tensor4D,
      strides: stride,
      pad: "same",
      bias: this.#v[`${name}.bias`],
    });
  }

  #block(name: string, x: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor4D {
    const v = this.#v, c = x.shape[3];
    const mod = linear(
      e,
      v[`${name}.modulation.weight`] as tf.Tensor2D,
      v[`${name}.modulation.bias`] as tf.Tensor1D,
    );
    const [scale, shift, gate] = tf.split(tf.reshape(mod, [-1, 1, 1, 3 * c]), 3, 3);
    const norm1 = [v[`${name}.norm1.gamma`], v[`${name}.norm1.beta`]];
    let h = this.#conv(`${name}.conv1`, groupNormSilu(x, this.#groups, norm1[0], norm1[1], { scale, shift }));
    const norm2 = [v[`${name}.norm2.gamma`], v[`${name}.norm2.beta`]];
    h = this.#conv(`${name}.conv2`, groupNormSilu(h, this.#groups, norm2[0], norm2[1]));
    return gatedResidual(x, gate, h);
  }

  apply(x: tf.Tensor, emb: tf.Tensor2D, condition?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const v = this.#v;
      const [b, hgt, wid] = x.shape;
      let input = x as tf.Tensor4D;
      if (this.#conditionChannels > 0) {
        if (!condition) throw new Error(`UNet: expects ${this.#conditionChannels} condition channels`);
        input = tf.concat([
          input,
          tf.reshape(condition, [b, hgt, wid, this.#conditionChannels]) as tf.Tensor4D,
        ], 3);
      } else if (condition) {
        throw new Error("UNet: got a condition but was built with conditionChannels = 0");
      }
      const e = silu(
        linear(
          silu(linear(emb, v["embedding.0.weight"] as tf.Tensor2D, v["embedding.0.bias"] as tf.Tensor1D)),
          v["embedding.1.weight"] as tf.Tensor2D,
          v["embedding.1.bias"] as tf.Tensor1D,
        ),
      );
      let h = this.#conv("input", input);
      const skips: tf.Tensor4D[] = [];
      this.#features.forEach((_, i) => {
        for (let j = 0; j < this.#blocks; j++) h = this.#block(`down.${i}.block.${j}`, h, e);
        if (i + 1 < this.#features.length) {
          skips.push(h);
          h = this.#conv(`down.${i}.downsample`, h, 2);
        }
      });
      for (let i = this.#features.length - 2; i >= 0; i--) {
        const skip = skips[i];
        h = this.#conv(`up.${i}.upsample`, upsampleTo(h, skip.shape[1], skip.shape[2]));
        h = this.#conv(`up.${i}.merge`, tf.concat([h, skip], 3));
        for (let j = 0; j < this.#blocks; j++) h = this.#block(`up.${i}.block.${j}`, h, e);
      }
      h = groupNormSilu(h, this.#groups, v["output.norm.gamma"], v["output.norm.beta"]);
      return this.#conv("output", h);
    });
  }

  dispose(): void {
    for (const v of Object.values(this.#v)) v.dispose();
  }
}

/**
 * Nearest-neighbour ×2 upsampling, cropped to `height` × `width` (odd sizes: 7 → 14 is exact, a stride-2 'same'
 * conv of 15 gives 8 → 16 → cropped to 15). Forward a broadcast multiply by ones; its gradient, the sum of each
 * 2 × 2 block of dy, is given directly (`tf.customGrad`) rather than as the multiply's (dy · ones, then that sum:
 * one pass more over the largest activation).
 */
export function upsampleTo(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const up = upsample2(x) as tf.Tensor4D;
  if (2 * h === height && 2 * w === width) return up;
  return tf.slice(up, [0, 0, 0, 0], [b, height, width, c]) as tf.Tensor4D;
}

/** Nearest-neighbour ×2 upsampling of [B, H, W, C] with the 2 × 2 block sum as its gradient. */
const upsample2 = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor, [b, h, w, c] = x.shape;
  const value = tf.reshape(tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [
    b,
    2 * h,
    2 * w,
    c,
  ]);
  return {
    value,
    gradFunc: (dy: tf.Tensor) => tf.reshape(tf.sum(tf.reshape(dy, [b, h, 2, w, 2, c]), [2, 4]), x.shape),
  };
}) as (x: tf.Tensor) => tf.Tensor;
