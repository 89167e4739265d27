/**
 * The dense layer y = x W + b as one kernel (`DiemLinear`) with a gradient whose parts are computed only
 * when asked for. `tf.fused.matMul` attaches its gradient with `tf.customGrad`, which computes dx, dW and
 * db together; a vector–Jacobian product with respect to the input (MMPS, lib/tensor/vjp.ts) then paid a
 * weight-gradient GEMM per layer as large as the forward one, for nothing. Here the gradient is registered
 * per input (dx = dy Wᵀ, dW = xᵀ dy, db = Σ_rows dy, transposes as BLAS flags), so the tape walk runs only
 * the products it needs. The forward pass is the backend's own `_FusedMatMul` (BLAS with a bias pre-fill on
 * wasm), called on [1, B, ·] views of the same data.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

const KERNEL = "DiemLinear";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  attrs: Record<string, unknown>;
  backend: tf.KernelBackend;
}

/** A [1, ...shape] view of a tensor's data (no copy). */
function batched(t: tf.TensorInfo): tf.TensorInfo {
  return { dataId: t.dataId, shape: [1, ...t.shape], dtype: t.dtype };
}

function forward(backend: string) {
  return ({ inputs, backend: b }: KernelArgs): tf.TensorInfo => {
    const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
    const fused = tf.getKernel("_FusedMatMul", backend)!.kernelFunc;
    const out = fused({
      inputs: { a: batched(x), b: batched(w), ...(bias ? { bias } : {}) },
      attrs: { transposeA: false, transposeB: false, activation: "linear" },
      backend: b,
    }) as tf.TensorInfo;
    return { dataId: out.dataId, shape: [x.shape[0], w.shape[1]], dtype: out.dtype };
  };
}

let registered = false;

/**
 * Register `DiemLinear` on the `wasm` backend (which must have `_FusedMatMul`) and its gradient.
 * Call before the backend initialises; idempotent.
 *
 * @example
 * ```ts
 * registerLinearKernel();
 * ```
 */
export function registerLinearKernel(): void {
  if (registered) return;
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: "wasm",
    kernelFunc: forward("wasm") as unknown as tf.KernelFunc,
  });
  tf.registerGradient({
    kernelName: KERNEL,
    inputsToSave: ["x", "w"],
    gradFunc: (dy, saved) => {
      const [x, w] = saved;
      const g = dy as tf.Tensor2D;
      return {
        x: () => tf.matMul(g, w as tf.Tensor2D, false, true),
        w: () => tf.matMul(x as tf.Tensor2D, g, true, false),
        bias: () => tf.sum(g, 0),
      };
    },
  });
  registered = true;
}

/**
 * x W + b for x `[B, in]`, W `[in, out]`, b `[out]` by `DiemLinear`, whose gradient computes dx, dW and db
 * separately (an input-only VJP runs no weight GEMM); null when the current backend has no such kernel or
 * the operands do not fit (the caller uses `tf.fused.matMul`).
 *
 * @example
 * ```ts
 * const y = fusedLinear(x, w, b) ?? tf.fused.matMul({ a: x, b: w, bias: b });
 * ```
 */
export function fusedLinear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D | null {
  if (!tf.getKernel(KERNEL, tf.getBackend())) return null;
  if (x.dtype !== "float32" || w.dtype !== "float32" || x.rank !== 2 || w.rank !== 2) return null;
  if (x.shape[1] !== w.shape[0]) return null;
  if (bias && (bias.dtype !== "float32" || bias.rank !== 1 || bias.size !== w.shape[1])) return null;
  const inputs: tf.NamedTensorMap = bias ? { x, w, bias } : { x, w };
  return tf.engine().runKernel(KERNEL, inputs, {}) as tf.Tensor2D;
}
