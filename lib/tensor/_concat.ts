/**
 * `Concat` and `SplitV` of float32 tensors on the wasm backend as runs of copies on the heap. Along
 * axis a, a tensor is `outer` = ∏ shape[:a] runs of shape[a] · ∏ shape[a+1:] consecutive values, and
 * concatenation interleaves the inputs' runs: out[o, off_i : off_i + run_i] = in_i[o, :]. The wasm
 * kernels copy each run with a `subarray` and `set` (an object per run: the U-Net's skip concatenation
 * along channels makes 100,000 runs of 32 values), and `SplitV` is one `Slice` per output, which first
 * copies the whole input off the heap; its gradient split the U-Net's [64, 28, 28, 64] in 100 ms under
 * load. Here short runs are copied by a loop and long ones by `copyWithin` on the heap, with no objects
 * per run. Other dtypes, empty tensors and a single input go to the kernels these replace.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BlasKernel, BlasKernelArgs } from "./_blas_matmul.ts";

/** Runs at least this long are copied by `copyWithin` (a native memmove), shorter ones by a loop. */
const NATIVE_RUN = 64;

/**
 * Copy `count` runs of `run` floats within the heap: run k from heap[src + k·srcStride] to
 * heap[dst + k·dstStride]. The ranges do not overlap (different tensors).
 */
function copyRuns(
  heap: Float32Array,
  src: number,
  srcStride: number,
  dst: number,
  dstStride: number,
  count: number,
  run: number,
): void {
  if (run >= NATIVE_RUN) {
    for (let k = 0; k < count; k++) {
      heap.copyWithin(dst + k * dstStride, src + k * srcStride, src + k * srcStride + run);
    }
    return;
  }
  for (let k = 0; k < count; k++) {
    const s = src + k * srcStride, d = dst + k * dstStride;
    for (let t = 0; t < run; t++) heap[d + t] = heap[s + t];
  }
}

/** The whole heap as floats and the offset (in floats) of a tensor's data on it. */
function heapOffset(args: BlasKernelArgs, t: tf.TensorInfo): { heap: Float32Array; at: number } {
  const view = args.backend.typedArrayFromHeap(t);
  return { heap: new Float32Array(view.buffer), at: view.byteOffset / 4 };
}

function concat(original: BlasKernel): BlasKernel {
  return (args) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    if (
      inputs.length < 2 || inputs.some((t) => t.dtype !== "float32" || tf.util.sizeFromShape(t.shape) === 0)
    ) {
      return original(args);
    }
    const axis = tf.util.parseAxisParam(args.attrs.axis as number | number[], inputs[0].shape)[0];
    tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = args.backend.makeOutput(outShape, "float32");
    const outer = tf.util.sizeFromShape(outShape.slice(0, axis));
    const runs = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const total = runs.reduce((a, b) => a + b, 0);
    const { heap, at } = heapOffset(args, out);
    let offset = 0;
    inputs.forEach((t, i) => {
      copyRuns(heap, heapOffset(args, t).at, runs[i], at + offset, total, outer, runs[i]);
      offset += runs[i];
    });
    return out;
  };
}

function splitV(original: BlasKernel): BlasKernel {
  return (args) => {
    const x = args.inputs.x!;
    if (x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) return original(args);
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, a);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, a));
    const inner = tf.util.sizeFromShape(x.shape.slice(a + 1));
    const total = x.shape[a] * inner;
    const outs = sizes.map((s) => args.backend.makeOutput(x.shape.map((d, i) => i === a ? s : d), "float32"));
    // Views after every allocation (an allocation can grow the heap).
    const { heap, at } = heapOffset(args, x);
    let offset = 0;
    outs.forEach((out, i) => {
      const run = sizes[i] * inner;
      if (run > 0) copyRuns(heap, at + offset, total, heapOffset(args, out).at, run, outer, run);
      offset += run;
    });
    return outs;
  };
}

/**
 * `Concat` and `SplitV` kernels over `originals` (which take the cases these leave).
 *
 * @example
 * ```ts
 * const { Concat, SplitV } = copyKernels({ Concat: old.Concat, SplitV: old.SplitV });
 * ```
 */
export function copyKernels(originals: Record<"Concat" | "SplitV", BlasKernel>): Record<string, BlasKernel> {
  return { Concat: concat(originals.Concat), SplitV: splitV(originals.SplitV) };
}
