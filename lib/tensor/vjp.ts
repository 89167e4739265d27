/**
 * Vector–Jacobian products that share one recorded forward pass. `tf.grad` records the forward pass on
 * the engine's tape, back-propagates once and frees the tape, so every further VJP of the same function
 * at the same point re-runs the forward pass. {@link recordVjp} runs f once under the tape, keeps the
 * tensors the gradient definitions saved, and back-propagates any number of cotangents through it: one
 * forward + k backward passes instead of k forward + k backward (MMPS's solver iterations, docs/design.md §3).
 *
 * TF.js exports neither its tape nor its back-propagation (`tape.ts` is not reachable from the package
 * entry), so this module drives the engine the way `Engine.gradients` does (startTape / endTape around a
 * `tidy`, then `state.activeTape`) and walks the tape itself with the same rules: only nodes on a path
 * from x to y, only inputs that depend on x (no weight gradients), gradients of a tensor summed in tape
 * order. Those internals are pinned with `@tensorflow/tfjs-core` {@link pinnedTfjsCoreVersion}; on any
 * other version {@link recordVjp} throws instead of guessing (tests/tensor_vjp.test.ts compares it with
 * `tf.grad` on an MLP and a U-Net).
 *
 * @example
 * ```ts
 * const rec = recordVjp((x) => net(x), xt);   // one forward pass
 * try {
 *   const g1 = rec.vjp(u1), g2 = rec.vjp(u2); // Jᵀu1, Jᵀu2: backward passes only
 * } finally {
 *   rec.dispose();                            // frees the saved activations (not rec.y)
 * }
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients.ts";

/** The `@tensorflow/tfjs-core` version whose engine internals this module relies on. */
export const pinnedTfjsCoreVersion = "4.22.0";

/** One entry of the engine's tape (tfjs-core `tape.ts`, `TapeNode`). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The part of tfjs-core's `Engine` that `Engine.gradients` uses and this module drives. */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

/** A forward pass recorded for repeated VJPs: see {@link recordVjp}. */
export interface RecordedVjp {
  /** f(x), owned by the caller (tracked by the enclosing `tidy` like any op result). */
  y: tf.Tensor;
  /** Jᵀ dy for a cotangent `dy` of y's shape (float32); a new tensor, `dy` is not disposed. */
  vjp(dy: tf.Tensor): tf.Tensor;
  /** Frees the saved forward tensors; `vjp` throws afterwards. Idempotent. */
  dispose(): void;
}

/** The engine, after checking that its internals are the ones this module was written against. */
function pinnedEngine(): EngineInternals {
  if (tf.version_core !== pinnedTfjsCoreVersion) {
    throw new Error(
      `recordVjp drives the tape internals of @tensorflow/tfjs-core ${pinnedTfjsCoreVersion}, but ` +
        `${tf.version_core} is loaded: check lib/tensor/vjp.ts against its engine.ts/tape.ts and update the pin`,
    );
  }
  const engine = tf.engine() as unknown as EngineInternals;
  const state = engine.state as Partial<EngineInternals["state"]> | undefined;
  if (
    typeof engine.startTape !== "function" || typeof engine.endTape !== "function" ||
    typeof engine.scopedRun !== "function" || typeof state?.gradientDepth !== "number"
  ) throw new Error(`tfjs-core ${tf.version_core}: the engine lacks the tape internals recordVjp uses`);
  return engine;
}

/**
 * Run `f(x)` once under the engine's tape and return its value with a VJP that reuses the recording.
 * The saved activations stay allocated until `dispose()` (they are `keep`-ed, so no `tidy` frees them:
 * dispose in a `finally`). Cannot run inside another gradient computation (`tf.grad`, `variableGrads`).
 *
 * @example
 * ```ts
 * const rec = recordVjp((x) => tf.tanh(tf.matMul(x, w)), x);
 * const jtu = rec.vjp(u); // equals tf.grad((x) => tf.sum(tf.mul(f(x), u)))(x)
 * rec.dispose();
 * ```
 */
export function recordVjp(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): RecordedVjp {
  const engine = pinnedEngine();
  if (engine.state.gradientDepth !== 0) {
    throw new Error("recordVjp cannot record inside another gradient computation (tf.grad, variableGrads)");
  }
  let tape: TapeNode[] = [];
  let y: tf.Tensor;
  try {
    y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy("forward", () => f(x)),
    );
  } finally {
    tape = engine.state.activeTape ?? [];
    engine.state.activeTape = null;
  }
  let saved: tf.Tensor[] | null = tape.flatMap((node) => node.saved ?? []);
  const path = nodesFromXToY(tape, x, y);
  if (!(y instanceof tf.Tensor) || path.length === 0) {
    tf.dispose(saved);
    throw new Error("recordVjp: f(x) must return a tensor computed from x inside f");
  }
  const out = y;
  return {
    y: out,
    vjp(dy) {
      if (saved === null) throw new Error("recordVjp: vjp called after dispose()");
      if (dy.dtype !== "float32") throw new Error(`recordVjp: dy must be float32, got ${dy.dtype}`);
      if (!tf.util.arraysEqual(dy.shape, out.shape)) {
        throw new Error(`recordVjp: dy has shape [${dy.shape}], f(x) has [${out.shape}]`);
      }
      return tf.tidy(() => backpropagate(path, out, dy, x));
    },
    dispose() {
      if (saved) tf.dispose(saved);
      saved = null;
    },
  };
}

/**
 * The nodes on a path from x to y in tape order, each with only its inputs that depend on x (the rule of
 * tfjs-core's `getFilteredNodesXToY`; pruning the other inputs is what skips weight gradients).
 */
function nodesFromXToY(tape: TapeNode[], x: tf.Tensor, y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>([x.id]);
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodeToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape.filter((n) => nodeFromX.has(n.id) && nodeToY.has(n.id)).map((node) => ({
    ...node,
    inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id))),
  }));
}

/**
 * Walk the path backwards from y with cotangent dy and return the gradient at x (tfjs-core's
 * `backpropagateGradients`, same order of accumulation). A tensor's gradient is complete once its
 * producing node is reached, so it is freed right after: the peak holds one layer's gradients, not all.
 */
function backpropagate(path: TapeNode[], y: tf.Tensor, dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  const grads = new Map<number, tf.Tensor>([[y.id, dy]]);
  // A gradient definition may hand back a tensor it was given: free one only when nothing refers to it.
  const free = (t: tf.Tensor) => {
    if (t !== dy && ![...grads.values()].includes(t)) t.dispose();
  };
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i];
    if (!node.gradient) throw new Error(`recordVjp: no gradient defined for ${node.kernelName}`);
    const inputGrads = node.gradient(node.outputs.map((o) => grads.get(o.id) ?? null));
    for (const [name, input] of Object.entries(node.inputs)) {
      if (!(name in inputGrads)) throw new Error(`recordVjp: ${node.kernelName} has no gradient for ${name}`);
      const dx = tf.tidy(() => inputGrads[name]());
      if (!tf.util.arraysEqual(dx.shape, input.shape)) {
        throw new Error(
          `recordVjp: ${node.kernelName} gradient of ${name} has shape [${dx.shape}], not [${input.shape}]`,
        );
      }
      const previous = grads.get(input.id);
      if (previous === undefined) grads.set(input.id, dx);
      else {
        grads.set(input.id, tf.add(previous, dx));
        free(previous);
        free(dx);
      }
    }
    for (const o of node.outputs) {
      const g = grads.get(o.id);
      grads.delete(o.id);
      if (g) free(g);
    }
  }
  return grads.get(x.id) ?? tf.zerosLike(x);
}
