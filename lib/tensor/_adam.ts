/**
 * One Adam step over all of a model's variables as ONE wasm kernel (`DiemAdam`): the global gradient norm
 * (float64), the clipping scale, and for every variable m ← β₁m + (1−β₁)g', v ← β₂v + (1−β₂)g'²,
 * p ← p − stepSize · m / (√v / √bc₂ + ε) with g' = g · scale, in one pass over each variable. Composed of TF.js
 * ops the same step is ~12 kernels per variable plus the norm (≈ 190 kernel calls for the MLP, each with the
 * engine's bookkeeping, on tensors of at most 65 536 values: the dispatch, not the arithmetic, was the cost).
 * The caller (lib/training/optim.ts) assigns the new values to its variables.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const KERNEL = "DiemAdam";

/** The scalars of one step. */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  sqrtBc2: number;
  /** Clip the global gradient norm to this (Infinity: no clipping). */
  clipNorm: number;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

function adam({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { count, beta1, beta2, eps, stepSize, sqrtBc2, clipNorm } = attrs as unknown as
    & AdamStepScalars
    & { count: number };
  const out: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    for (const slot of ["p", "m", "v"]) out.push(backend.makeOutput(inputs[`${slot}${i}`].shape, "float32"));
  }
  const normOut = backend.makeOutput([], "float32");
  // Views after every allocation: an allocation can grow (and move) the heap.
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
  let sumSquares = 0;
  for (let i = 0; i < count; i++) {
    const g = view(inputs[`g${i}`]);
    let s = 0;
    for (let j = 0; j < g.length; j++) s += g[j] * g[j];
    sumSquares += s;
  }
  // In float32 like the composed step: norm, then min(1, c / (norm + 1e-6)).
  const norm = Math.fround(Math.sqrt(sumSquares));
  view(normOut)[0] = norm;
  const scale = Number.isFinite(clipNorm) ? Math.min(1, Math.fround(clipNorm / Math.fround(norm + 1e-6))) : 1;
  const a1 = 1 - beta1, a2 = 1 - beta2;
  for (let i = 0; i < count; i++) {
    const p = view(inputs[`p${i}`]), m = view(inputs[`m${i}`]), v = view(inputs[`v${i}`]);
    const g = view(inputs[`g${i}`]);
    const p1 = view(out[3 * i]), m1 = view(out[3 * i + 1]), v1 = view(out[3 * i + 2]);
    for (let j = 0; j < p.length; j++) {
      const gj = g[j] * scale;
      const mj = beta1 * m[j] + a1 * gj, vj = beta2 * v[j] + a2 * gj * gj;
      m1[j] = mj;
      v1[j] = vj;
      p1[j] = p[j] - stepSize * mj / (Math.sqrt(vj) / sqrtBc2 + eps);
    }
  }
  return [...out, normOut];
}

/**
 * Register `DiemAdam` on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerAdamKernel();
 * ```
 */
export function registerAdamKernel(): void {
  registerWasmKernels({ [KERNEL]: adam });
}

/**
 * One clipped Adam step (see {@link AdamStepScalars}) over parallel lists of parameters, first and second
 * moments and gradients, by the fused wasm kernel: the new parameters and moments (new tensors, for the
 * caller to assign) and the global gradient norm before clipping; null when the current backend has no such
 * kernel or a tensor is not float32 (the caller composes the step from TF.js ops).
 *
 * @example
 * ```ts
 * const r = fusedAdamStep(ps, ms, vs, gs, { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize, sqrtBc2, clipNorm: 1 });
 * ```
 */
export function fusedAdamStep(
  params: tf.Tensor[],
  m: tf.Tensor[],
  v: tf.Tensor[],
  grads: tf.Tensor[],
  scalars: AdamStepScalars,
): { params: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[]; norm: tf.Scalar } | null {
  if (!tf.getKernel(KERNEL, tf.getBackend())) return null;
  const inputs: tf.NamedTensorMap = {};
  for (let i = 0; i < params.length; i++) {
    const four = [params[i], m[i], v[i], grads[i]];
    if (four.some((t) => t.dtype !== "float32" || !tf.util.arraysEqual(t.shape, params[i].shape))) {
      return null;
    }
    [inputs[`p${i}`], inputs[`m${i}`], inputs[`v${i}`], inputs[`g${i}`]] = four;
  }
  const attrs = { count: params.length, ...scalars };
  const out = tf.engine().runKernel(KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const pick = (k: number) => params.map((_, i) => out[3 * i + k]);
  return { params: pick(0), m: pick(1), v: pick(2), norm: out[out.length - 1] as tf.Scalar };
}
