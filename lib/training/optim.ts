/**
 * Adam with global-norm gradient clipping, learning-rate schedules, and an exponential moving average (EMA) of
 * the weights. All state is exportable as host arrays and re-importable bit for bit, so a training run resumed
 * from a checkpoint continues exactly as an uninterrupted one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NDArray } from "../array.ts";
import { fusedAdamStep } from "../tensor/mod.ts";

/** Learning rate as a function of the (0-based) step about to be taken. */
export type LRSchedule = (step: number) => number;

/**
 * Constant learning rate (images: 2e-4 with an EMA).
 *
 * @example
 * ```ts
 * const lr = constantLR(2e-4);
 * ```
 */
export function constantLR(lr: number): LRSchedule {
  return () => lr;
}

/**
 * Linear decay from `lr` at step 0 to 0 at `totalSteps` (vectors: 1e-3).
 *
 * @example
 * ```ts
 * const lr = linearDecayLR(1e-3, 10000); // lr(5000) = 5e-4
 * ```
 */
export function linearDecayLR(lr: number, totalSteps: number): LRSchedule {
  return (step) => lr * Math.max(0, 1 - step / totalSteps);
}

/** Adam hyper-parameters. */
export interface AdamOptions {
  lr: LRSchedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Clip the global gradient norm to this value (default 1; Infinity disables). */
  clipNorm?: number;
}

/** A non-trainable variable initialised from `init`, which is freed (tf.variable keeps a second handle). */
function variableFrom(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

async function hostCopy(t: tf.Tensor): Promise<NDArray<Float32Array>> {
  return { shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) };
}

function assignFrom(v: tf.Variable, a: NDArray, what: string): void {
  if (a.shape.join(",") !== v.shape.join(",")) throw new Error(`${what}: shape [${a.shape}] vs [${v.shape}]`);
  const data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
}

/**
 * Adam (PyTorch's formulation) over named variables, with the gradients clipped to a global norm first:
 * g ← g · min(1, c/‖g‖); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr_t · m̂ / (√v̂ + ε).
 *
 * @example
 * ```ts
 * const opt = new Adam(net.params(), { lr: linearDecayLR(1e-3, steps) });
 * tf.tidy(() => {
 *   const { value, grads } = tf.variableGrads(() => loss(), Object.values(net.params()));
 *   opt.apply(grads);
 * });
 * ```
 */
export class Adam {
  readonly params: Record<string, tf.Variable>;
  /** Steps taken so far. */
  step = 0;
  readonly #m: Record<string, tf.Variable> = {};
  readonly #v: Record<string, tf.Variable> = {};
  readonly #opts: Required<AdamOptions>;
  /** Global gradient norm of the last step (a scalar tensor kept for logging), or null. */
  lastGradNorm: tf.Scalar | null = null;

  constructor(params: Record<string, tf.Variable>, opts: AdamOptions) {
    this.params = params;
    this.#opts = { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1, ...opts };
    for (const [name, p] of Object.entries(params)) {
      this.#m[name] = variableFrom(tf.zerosLike(p));
      this.#v[name] = variableFrom(tf.zerosLike(p));
    }
  }

  /**
   * One update from gradients keyed like `params` (as returned by `tf.variableGrads`, keyed by variable name,
   * or by our parameter names). Call inside `tf.tidy`.
   */
  apply(grads: Record<string, tf.Tensor>): void {
    const { beta1, beta2, eps, clipNorm } = this.#opts;
    const names = Object.keys(this.params);
    const g = names.map((name) => {
      const byVar = grads[this.params[name].name];
      const got = byVar ?? grads[name];
      if (!got) throw new Error(`Adam: no gradient for ${name}`);
      return got;
    });
    const t = this.step + 1;
    const lr = this.#opts.lr(this.step);
    const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
    const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    // On wasm: one kernel for the norm, the clipping and every variable's update (lib/tensor/_adam.ts).
    const fused = fusedAdamStep(
      names.map((n) => this.params[n]),
      names.map((n) => this.#m[n]),
      names.map((n) => this.#v[n]),
      g,
      { beta1, beta2, eps, stepSize, sqrtBc2, clipNorm },
    );
    if (fused) {
      if (this.lastGradNorm) this.lastGradNorm.dispose();
      this.lastGradNorm = tf.keep(fused.norm);
      names.forEach((name, i) => {
        this.params[name].assign(fused.params[i]);
        this.#m[name].assign(fused.m[i]);
        this.#v[name].assign(fused.v[i]);
      });
      this.step = t;
      return;
    }
    const norm = tf.sqrt(tf.addN(g.map((x) => tf.sum(tf.square(x))))) as tf.Scalar;
    if (this.lastGradNorm) this.lastGradNorm.dispose();
    this.lastGradNorm = tf.keep(norm);
    const scale = Number.isFinite(clipNorm)
      ? tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)))
      : tf.scalar(1);
    names.forEach((name, i) => {
      const gi = tf.mul(g[i], scale);
      const m = tf.add(tf.mul(this.#m[name], beta1), tf.mul(gi, 1 - beta1));
      const v = tf.add(tf.mul(this.#v[name], beta2), tf.mul(tf.square(gi), 1 - beta2));
      const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), eps);
      this.params[name].assign(tf.sub(this.params[name], tf.mul(tf.div(m, denom), stepSize)));
      this.#m[name].assign(m);
      this.#v[name].assign(v);
    });
    this.step = t;
  }

  /** State as host arrays: `step` (int32 scalar), `m/<name>`, `v/<name>`. */
  async exportState(): Promise<Record<string, NDArray>> {
    const out: Record<string, NDArray> = { step: { shape: [], data: Int32Array.of(this.step) } };
    for (const name of Object.keys(this.params)) {
      out[`m/${name}`] = await hostCopy(this.#m[name]);
      out[`v/${name}`] = await hostCopy(this.#v[name]);
    }
    return out;
  }

  /** Restore a state saved with {@link Adam.exportState}. */
  importState(state: Record<string, NDArray>): void {
    if (!state.step) throw new Error("Adam.importState: no step");
    this.step = Number(state.step.data[0]);
    for (const name of Object.keys(this.params)) {
      for (const [slot, vars] of [["m", this.#m], ["v", this.#v]] as const) {
        const a = state[`${slot}/${name}`];
        if (!a) throw new Error(`Adam.importState: missing ${slot}/${name}`);
        assignFrom(vars[name], a, `Adam ${slot}/${name}`);
      }
    }
  }

  /** Free the optimizer's slots (not the parameters). */
  dispose(): void {
    tf.dispose([...Object.values(this.#m), ...Object.values(this.#v)]);
    this.lastGradNorm?.dispose();
    this.lastGradNorm = null;
  }
}

/**
 * Exponential moving average of named variables: ema ← decay·ema + (1 − decay)·p after each step.
 *
 * @example
 * ```ts
 * const ema = new EMA(net.params(), 0.999);
 * ema.update();                      // after each optimizer step
 * importParams(evalNet, await ema.exportState()); // use the averaged weights
 * ```
 */
export class EMA {
  readonly shadow: Record<string, tf.Variable> = {};
  constructor(readonly params: Record<string, tf.Variable>, readonly decay: number) {
    for (const [name, p] of Object.entries(params)) this.shadow[name] = variableFrom(p.clone());
  }

  /** Move the average towards the current parameters. */
  update(): void {
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const s = this.shadow[name];
        s.assign(tf.add(tf.mul(s, this.decay), tf.mul(p, 1 - this.decay)));
      }
    });
  }

  /** The averaged weights as host arrays, keyed by parameter name. */
  async exportState(): Promise<Record<string, NDArray>> {
    const out: Record<string, NDArray> = {};
    for (const [name, s] of Object.entries(this.shadow)) out[name] = await hostCopy(s);
    return out;
  }

  /** Restore averaged weights saved with {@link EMA.exportState}. */
  importState(state: Record<string, NDArray>): void {
    for (const [name, s] of Object.entries(this.shadow)) {
      if (!state[name]) throw new Error(`EMA.importState: missing ${name}`);
      assignFrom(s, state[name], `EMA ${name}`);
    }
  }

  dispose(): void {
    tf.dispose(Object.values(this.shadow));
  }
}
