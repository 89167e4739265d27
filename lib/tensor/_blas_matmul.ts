/**
 * `BatchMatMul` and `_FusedMatMul` on the wasm backend through the platform's BLAS (`cblas_sgemm`,
 * lib/tensor/_blas.ts): operands are read and the result written in place on the wasm heap (views
 * taken per call, after the output is allocated: the heap can grow). Transposes are BLAS flags, a
 * broadcast operand (batch 1) is reused, and when B has batch 1 and A is not transposed the batch
 * folds into the rows of one GEMM. The bias epilogue is a row fill before a beta = 1 GEMM; `relu`,
 * `relu6`, `sigmoid` and `leakyrelu` are applied on the heap afterwards. Anything else (other dtypes,
 * general batch broadcasting, prelu, elu, a bias that is not a length-N vector) goes to the kernel
 * it replaces.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Blas } from "./_blas.ts";
import { numel } from "../array.ts";

/** The parts of the wasm backend the BLAS kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(id: tf.DataId): boolean;
}

/** A kernel as TF.js calls it. */
export interface BlasKernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}
export type BlasKernel = (args: BlasKernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** The GEMM layout of a batched product, or null when the batches broadcast in a general way. */
function layout(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean) {
  const ra = a.shape.length, rb = b.shape.length;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2], k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = numel(a.shape.slice(0, -2)), batchB = numel(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  if (batchA === batchB && batchA > 1 && a.shape.slice(0, -2).join() !== b.shape.slice(0, -2).join()) {
    return null;
  }
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { m, n, k, batchA, batchB, batch: Math.max(batchA, batchB), outShape: [...outBatch, m, n] };
}

/** out = op(a) op(b) (+ out when `accumulate`), batched, into the heap tensor `out`. */
function gemmInto(
  blas: Blas,
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  ta: boolean,
  tb: boolean,
  out: tf.TensorInfo,
  accumulate: boolean,
): void {
  const l = layout(a, b, ta, tb)!;
  const av = backend.typedArrayFromHeap(a), bv = backend.typedArrayFromHeap(b);
  const cv = backend.typedArrayFromHeap(out);
  const lda = a.shape[a.shape.length - 1], ldb = b.shape[b.shape.length - 1];
  const beta = accumulate ? 1 : 0;
  if (l.batchB === 1 && !ta) {
    // Rows of all A batches are consecutive: one GEMM of batch·m rows.
    blas.sgemm(false, tb, l.batch * l.m, l.n, l.k, 1, av, lda, bv, ldb, beta, cv, l.n);
    return;
  }
  const sa = l.batchA === 1 ? 0 : l.m * l.k, sb = l.batchB === 1 ? 0 : l.k * l.n, sc = l.m * l.n;
  for (let i = 0; i < l.batch; i++) {
    blas.sgemm(
      ta,
      tb,
      l.m,
      l.n,
      l.k,
      1,
      av.subarray(i * sa, i * sa + l.m * l.k),
      lda,
      bv.subarray(i * sb, i * sb + l.k * l.n),
      ldb,
      beta,
      cv.subarray(i * sc, i * sc + sc),
      l.n,
    );
  }
}

function supported(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): boolean {
  if (a.dtype !== "float32" || b.dtype !== "float32") return false;
  if (a.shape.length < 2 || b.shape.length < 2) return false;
  const l = layout(a, b, ta, tb);
  return l !== null && l.m * l.n * l.k > 0;
}

/**
 * `BatchMatMul` through BLAS, falling back to `original` where it does not apply.
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: blasBatchMatMul(blas, old) });
 * ```
 */
export function blasBatchMatMul(blas: Blas, original: BlasKernel): BlasKernel {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA: ta, transposeB: tb } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!supported(a, b, ta, tb)) return original(args);
    const out = args.backend.makeOutput(layout(a, b, ta, tb)!.outShape, "float32");
    gemmInto(blas, args.backend, a, b, ta, tb, out, false);
    return out;
  };
}

const epilogues: Record<string, ((v: Float32Array, alpha: number) => void) | null> = {
  linear: null,
  relu: (v) => {
    for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] = 0;
  },
  relu6: (v) => {
    for (let i = 0; i < v.length; i++) v[i] = Math.min(6, Math.max(0, v[i]));
  },
  sigmoid: (v) => {
    for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp(-v[i]));
  },
  leakyrelu: (v, alpha) => {
    for (let i = 0; i < v.length; i++) if (v[i] < 0) v[i] *= alpha;
  },
};

/**
 * `_FusedMatMul` (bias + activation epilogue) through BLAS, falling back to `original`.
 *
 * @example
 * ```ts
 * tf.registerKernel({ kernelName: "_FusedMatMul", backendName: "wasm", kernelFunc: blasFusedMatMul(blas, old) });
 * ```
 */
export function blasFusedMatMul(blas: Blas, original: BlasKernel): BlasKernel {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { transposeA: ta, transposeB: tb, activation, leakyreluAlpha } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
      leakyreluAlpha?: number;
    };
    const act = activation ?? "linear";
    if (!supported(a!, b!, ta, tb) || preluActivationWeights || !(act in epilogues)) return original(args);
    const l = layout(a!, b!, ta, tb)!;
    if (bias && (bias.dtype !== "float32" || numel(bias.shape) !== l.n || bias.shape.length !== 1)) {
      return original(args);
    }
    const out = args.backend.makeOutput(l.outShape, "float32");
    if (bias) {
      // Every output row starts as the bias; the GEMM then accumulates onto it.
      const cv = args.backend.typedArrayFromHeap(out);
      cv.set(args.backend.typedArrayFromHeap(bias), 0);
      for (let filled = l.n; filled < cv.length; filled *= 2) {
        cv.copyWithin(filled, 0, Math.min(filled, cv.length - filled));
      }
    }
    gemmInto(blas, args.backend, a!, b!, ta, tb, out, bias !== undefined);
    epilogues[act]?.(args.backend.typedArrayFromHeap(out), leakyreluAlpha ?? 0.2);
    return out;
  };
}
