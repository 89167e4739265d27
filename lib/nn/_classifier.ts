/**
 * A small convolutional classifier for images (NHWC), the evaluator whose penultimate features the Fréchet
 * distance compares (docs/design.md, evaluation): per entry of `conv`, a 3 × 3 convolution, ReLU and a 2 × 2
 * max-pool (28 → 14 → 7 for two entries); then a dense layer of `features` units with ReLU (the feature
 * layer) and a dense layer to the class logits (softmax in the loss).
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Module, ParamBuilder } from "./_module.ts";
import { linear } from "./_layers.ts";
import type { NDArray } from "../array.ts";

/** Architecture of a {@link Classifier}. */
export interface ClassifierConfig {
  /** Image height, width, channels. */
  height: number;
  width: number;
  channels: number;
  /** Number of classes (default 10). */
  classes?: number;
  /** Channels of each conv–pool block (default [32, 64]). */
  conv?: number[];
  /** Width of the penultimate (feature) layer (default 128). */
  features?: number;
}

/**
 * A conv–pool classifier. `logits(x [B,H,W,C]) → [B, classes]`, `features(x) → [B, features]`.
 *
 * @example
 * ```ts
 * const net = new Classifier({ height: 14, width: 14, channels: 1 }, 0);
 * const f = net.features(tf.zeros([2, 14, 14, 1])); // [2, 128]
 * ```
 */
export class Classifier implements Module {
  readonly config: Required<ClassifierConfig> & { kind: "classifier" };
  readonly #v: Record<string, tf.Variable>;

  constructor(config: ClassifierConfig, seed: number) {
    this.config = {
      kind: "classifier",
      classes: 10,
      conv: [32, 64],
      features: 128,
      ...config,
    };
    const { height, width, channels, conv, features, classes } = this.config;
    const p = new ParamBuilder(seed);
    let cin = channels, h = height, w = width;
    conv.forEach((cout, i) => {
      // He-uniform bounds (√(6 / fan_in)) suit ReLU layers.
      const bound = Math.sqrt(6 / (9 * cin));
      p.uniform(`conv.${i}.weight`, [3, 3, cin, cout], bound);
      p.zeros(`conv.${i}.bias`, [cout]);
      cin = cout;
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    });
    const flat = h * w * cin;
    p.uniform("features.weight", [flat, features], Math.sqrt(6 / flat));
    p.zeros("features.bias", [features]);
    p.uniform("head.weight", [features, classes], 1 / Math.sqrt(features));
    p.zeros("head.bias", [classes]);
    this.#v = p.vars;
  }

  params(): Record<string, tf.Variable> {
    return this.#v;
  }

  /** The penultimate features (after ReLU) of a batch `[B, H, W, C]`. */
  features(x: tf.Tensor): tf.Tensor2D {
    const v = this.#v;
    let h = x as tf.Tensor4D;
    this.config.conv.forEach((_, i) => {
      const conv = tf.conv2d(h, v[`conv.${i}.weight`] as tf.Tensor4D, 1, "same");
      h = tf.maxPool(tf.relu(tf.add(conv, v[`conv.${i}.bias`])), 2, 2, "same");
    });
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    return tf.relu(linear(flat, v["features.weight"] as tf.Tensor2D, v["features.bias"] as tf.Tensor1D));
  }

  /** The class logits of penultimate features `[B, features]`. */
  head(features: tf.Tensor2D): tf.Tensor2D {
    const v = this.#v;
    return linear(features, v["head.weight"] as tf.Tensor2D, v["head.bias"] as tf.Tensor1D);
  }

  /** The class logits of a batch `[B, H, W, C]`. */
  logits(x: tf.Tensor): tf.Tensor2D {
    return this.head(this.features(x));
  }

  dispose(): void {
    tf.dispose(Object.values(this.#v));
  }
}

/**
 * Run `net` over host images `[N, H, W, C]` in batches: the penultimate features `[N, F]` and the predicted
 * class of each image.
 *
 * @example
 * ```ts
 * const { features, predictions } = classifyImages(net, testImages);
 * ```
 */
export function classifyImages(
  net: Classifier,
  images: NDArray,
  batchSize = 512,
): { features: NDArray<Float32Array>; predictions: Int32Array } {
  const [n, ...event] = images.shape;
  const { height, width, channels, features: f } = net.config;
  if (event.join(",") !== [height, width, channels].join(",")) {
    throw new Error(
      `classifier: images [${event}] differ from the classifier's input [${height}, ${width}, ${channels}]`,
    );
  }
  const d = height * width * channels;
  const features = new Float32Array(n * f), predictions = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const chunk = images.data.subarray(start * d, (start + b) * d);
    const [feat, pred] = tf.tidy(() => {
      const x = tf.tensor(Float32Array.from(chunk), [b, height, width, channels]);
      const h = net.features(x);
      return [h.dataSync() as Float32Array, tf.argMax(net.head(h), 1).dataSync() as Int32Array];
    });
    features.set(feat, start * f);
    predictions.set(pred, start);
  }
  return { features: { shape: [n, f], data: features }, predictions };
}
