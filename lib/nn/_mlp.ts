/**
 * The MLP of docs/design.md §2 for vector data: F(x, emb[, c]) = Linear ∘ (LayerNorm ∘ SiLU ∘ Linear)^L applied to
 * concat(x, emb[, c]), hidden widths (256, 256, 256) by default.
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NoiseConditionedNet, ParamBuilder } from "./_module.ts";
import { linear, siluLayerNorm } from "./_layers.ts";

/** Architecture of an {@link MLP}. */
export interface MLPConfig {
  /** Dimension D of the data vectors (input and output width). */
  features: number;
  /** Hidden widths (default [256, 256, 256]). */
  hidden?: number[];
  /** Noise-embedding features E (default 64). */
  embeddingFeatures?: number;
  /**
   * Width of a per-row condition vector concatenated to the input (DiffEM's c = encode(y, A)); default 0.
   */
  conditionFeatures?: number;
}

/**
 * A noise-conditioned MLP with SiLU and LayerNorm. Parameters are named `linear.{i}.weight|bias` and
 * `norm.{i}.gamma|beta`, initialised like PyTorch's `nn.Linear` (U(±1/√fan_in)) from `seed`.
 *
 * @example
 * ```ts
 * const net = new MLP({ features: 5 }, 0);
 * const y = net.apply(tf.zeros([8, 5]), sinusoidalEmbedding(tf.zeros([8]), 64)); // [8, 5]
 * ```
 */
export class MLP implements NoiseConditionedNet {
  readonly embeddingFeatures: number;
  readonly eventShape: readonly number[];
  readonly conditionFeatures: number;
  readonly config: Record<string, unknown>;
  readonly #vars: Record<string, tf.Variable>;
  readonly #weights: tf.Variable[] = [];
  readonly #biases: tf.Variable[] = [];
  readonly #gammas: tf.Variable[] = [];
  readonly #betas: tf.Variable[] = [];

  constructor(config: MLPConfig, seed: number) {
    const hidden = config.hidden ?? [256, 256, 256];
    this.embeddingFeatures = config.embeddingFeatures ?? 64;
    this.conditionFeatures = config.conditionFeatures ?? 0;
    this.eventShape = [config.features];
    this.config = {
      kind: "mlp",
      features: config.features,
      hidden,
      embeddingFeatures: this.embeddingFeatures,
      conditionFeatures: this.conditionFeatures,
    };
    const p = new ParamBuilder(seed);
    const widths = [
      config.features + this.embeddingFeatures + this.conditionFeatures,
      ...hidden,
      config.features,
    ];
    for (let i = 0; i + 1 < widths.length; i++) {
      const bound = 1 / Math.sqrt(widths[i]);
      this.#weights.push(p.uniform(`linear.${i}.weight`, [widths[i], widths[i + 1]], bound));
      this.#biases.push(p.uniform(`linear.${i}.bias`, [widths[i + 1]], bound));
      if (i + 2 < widths.length) {
        this.#gammas.push(p.constant(`norm.${i}.gamma`, [widths[i + 1]], 1));
        this.#betas.push(p.zeros(`norm.${i}.beta`, [widths[i + 1]]));
      }
    }
    this.#vars = p.vars;
  }

  params(): Record<string, tf.Variable> {
    return this.#vars;
  }

  apply(x: tf.Tensor, emb: tf.Tensor2D, condition?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const parts: tf.Tensor2D[] = [x as tf.Tensor2D, emb];
      if (this.conditionFeatures > 0) {
        if (!condition) throw new Error(`MLP: expects a condition of width ${this.conditionFeatures}`);
        parts.push(tf.reshape(condition, [x.shape[0], this.conditionFeatures]) as tf.Tensor2D);
      } else if (condition) {
        throw new Error("MLP: got a condition but was built with conditionFeatures = 0");
      }
      let h = tf.concat(parts, 1) as tf.Tensor2D;
      const last = this.#weights.length - 1;
      for (let i = 0; i < last; i++) {
        h = siluLayerNorm(
          linear(h, this.#weights[i] as tf.Tensor2D, this.#biases[i] as tf.Tensor1D),
          this.#gammas[i],
          this.#betas[i],
        );
      }
      return linear(h, this.#weights[last] as tf.Tensor2D, this.#biases[last] as tf.Tensor1D);
    });
  }

  dispose(): void {
    for (const v of Object.values(this.#vars)) v.dispose();
  }
}
