/**
 * The sinusoidal embedding [sin(x ω_k), cos(x ω_k)] of one scalar per row as one wasm kernel
 * (`DiemSinusoidalEmbedding`, lib/nn/_embedding.ts defines the features). The wasm backend's `Sin` and
 * `Cos` are scalar libm calls (~40 ns a value: 6 % of an MMPS step for the MLP's 64 features); here a row
 * equal to the previous one (every row of a sampler step shares σ) is a copy of it, and the others cost
 * E/2 `Math.sin` and `Math.cos` of the float32 angle, rounded to float32 as the composed ops do. No
 * gradient: the embedding is a function of the noise level, which nothing differentiates.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const KERNEL = "DiemSinusoidalEmbedding";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

function embedding({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x, frequencies } = inputs;
  const half = frequencies.shape[0], e = 2 * half, rows = x.shape[0];
  const out = backend.makeOutput([rows, e], "float32");
  const xv = backend.typedArrayFromHeap(x), fv = backend.typedArrayFromHeap(frequencies);
  const ov = backend.typedArrayFromHeap(out);
  for (let row = 0; row < rows; row++) {
    const o = row * e;
    if (row > 0 && Object.is(xv[row], xv[row - 1])) {
      ov.copyWithin(o, o - e, o);
      continue;
    }
    for (let k = 0; k < half; k++) {
      const angle = Math.fround(xv[row] * fv[k]);
      ov[o + k] = Math.sin(angle);
      ov[o + half + k] = Math.cos(angle);
    }
  }
  return out;
}

/**
 * Register `DiemSinusoidalEmbedding` on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerEmbeddingKernel();
 * ```
 */
export function registerEmbeddingKernel(): void {
  registerWasmKernels({ [KERNEL]: embedding });
}

/**
 * [sin(x ω), cos(x ω)] `[B, 2F]` for x `[B]` and the frequencies ω `[F]` by the wasm kernel; null when the
 * current backend has none (the caller composes it from TF.js ops).
 *
 * @example
 * ```ts
 * const emb = fusedSinusoidalEmbedding(logSigma, omega) ?? composed(logSigma, omega);
 * ```
 */
export function fusedSinusoidalEmbedding(x: tf.Tensor1D, frequencies: tf.Tensor1D): tf.Tensor2D | null {
  if (!tf.getKernel(KERNEL, tf.getBackend()) || x.dtype !== "float32" || x.rank !== 1) return null;
  return tf.engine().runKernel(KERNEL, { x, frequencies }, {}) as tf.Tensor2D;
}
