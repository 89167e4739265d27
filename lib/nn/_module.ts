/**
 * Networks as plain objects holding `tf.Variable`s under stable names, with seeded initialisation.
 *
 * No layers API: a network is a function of its parameters, and the names returned by `params()` are how
 * weights are saved, loaded, averaged (EMA) and optimised. Variables are created without a TF.js name
 * (TF.js requires those to be globally unique, which two copies of one network would violate).
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../random.ts";
import { type NDArray, numel } from "../array.ts";

/** Anything with named trainable parameters. */
export interface Module {
  /** The parameters by stable name (same names and order on every call and every construction). */
  params(): Record<string, tf.Variable>;
  /** Free the parameters. */
  dispose(): void;
}

/**
 * A network F(x, emb[, condition]) for an EDM denoiser: `x` is `[B, ...event]`, `emb` the noise embedding
 * `[B, E]`, `condition` an optional per-row conditioning input (DiffEM). Returns the shape of `x`.
 */
export interface NoiseConditionedNet extends Module {
  /** Features of the noise embedding the network expects. */
  readonly embeddingFeatures: number;
  /** Shape of one sample (without the batch axis). */
  readonly eventShape: readonly number[];
  /** Width of the conditioning input per row (flattened), 0 when unconditional. */
  readonly conditionFeatures: number;
  /** Architecture description (JSON-serialisable), enough to rebuild the network. */
  readonly config: Record<string, unknown>;
  apply(x: tf.Tensor, emb: tf.Tensor2D, condition?: tf.Tensor): tf.Tensor;
}

/**
 * Builds parameters with deterministic names and seeded values; each parameter draws from its own stream
 * `Rng.fromSeed(seed, "param", name)`, so adding a layer does not change the others' initial values.
 *
 * @example
 * ```ts
 * const p = new ParamBuilder(0);
 * const w = p.uniform("layers.0.weight", [69, 256], 1 / Math.sqrt(69));
 * const b = p.zeros("layers.0.bias", [256]);
 * ```
 */
export class ParamBuilder {
  readonly vars: Record<string, tf.Variable> = {};
  constructor(readonly seed: number) {}

  #add(name: string, values: Float32Array, shape: number[]): tf.Variable {
    if (name in this.vars) throw new Error(`duplicate parameter name ${name}`);
    const init = tf.tensor(values, shape, "float32");
    const v = tf.variable(init, true);
    init.dispose(); // the variable holds its own reference to the data
    this.vars[name] = v;
    return v;
  }

  /** U(−bound, bound) values (PyTorch's default for linear and conv layers uses bound = 1/√fan_in). */
  uniform(name: string, shape: number[], bound: number): tf.Variable {
    const rng = Rng.fromSeed(this.seed, "param", name);
    const n = numel(shape);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = (2 * rng.uniform() - 1) * bound;
    return this.#add(name, a, shape);
  }

  /** A constant-filled parameter. */
  constant(name: string, shape: number[], value: number): tf.Variable {
    const n = numel(shape);
    return this.#add(name, new Float32Array(n).fill(value), shape);
  }

  /** Zeros. */
  zeros(name: string, shape: number[]): tf.Variable {
    return this.constant(name, shape, 0);
  }
}

/**
 * Copy a module's parameters to the host (for saving).
 *
 * @example
 * ```ts
 * const weights = await exportParams(net); // { "layers.0.weight": {shape, data}, ... }
 * ```
 */
export async function exportParams(m: Module): Promise<Record<string, NDArray<Float32Array>>> {
  const out: Record<string, NDArray<Float32Array>> = {};
  for (const [name, v] of Object.entries(m.params())) {
    out[name] = { shape: [...v.shape], data: Float32Array.from(await v.data() as Float32Array) };
  }
  return out;
}

/**
 * Overwrite a module's parameters from host arrays (names and shapes must match exactly).
 *
 * @example
 * ```ts
 * importParams(net, await exportParams(otherNetOfSameConfig));
 * ```
 */
export function importParams(m: Module, values: Record<string, NDArray>): void {
  const params = m.params();
  const missing = Object.keys(params).filter((k) => !(k in values));
  const extra = Object.keys(values).filter((k) => !(k in params));
  if (missing.length || extra.length) {
    throw new Error(`importParams: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}]`);
  }
  for (const [name, v] of Object.entries(params)) {
    const a = values[name];
    if (a.shape.join(",") !== v.shape.join(",")) {
      throw new Error(`importParams: ${name} has shape [${a.shape}], expected [${v.shape}]`);
    }
    const data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
  }
}
