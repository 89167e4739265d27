/**
 * `Sum` and `Mean` of float32 tensors on the wasm backend without a transpose: the wasm kernels
 * transpose the reduced axes innermost first (a full copy), which made the U-Net's reductions (bias and
 * modulation gradients over batch and pixels, GroupNorm statistics over pixels and the channels of a
 * group) 16 % of a training step. Here adjacent axes that are both reduced or both kept are merged, and
 * one pass over the input in memory order adds each innermost run into a float64 accumulator: a kept
 * innermost axis adds a run of outputs, a reduced one sums a run into one output. Every output is the
 * sum of its inputs in memory order, whatever the batch, so an image's statistics do not depend on the
 * batch it is in. Other dtypes go to the kernels these replace.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BlasKernel, BlasKernelArgs } from "./_blas_matmul.ts";

let accumulator = new Float64Array(0);

/** Merged dims of `shape` as [size, reduced] pairs (size-1 dims dropped). */
function mergedDims(shape: number[], axes: number[]): [number, boolean][] {
  const dims: [number, boolean][] = [];
  shape.forEach((size, i) => {
    if (size === 1) return;
    const reduced = axes.includes(i);
    const last = dims[dims.length - 1];
    if (last && last[1] === reduced) last[0] *= size;
    else dims.push([size, reduced]);
  });
  return dims;
}

/**
 * acc[j] = Σ of the inputs that reduce to output j, in memory order (acc is zeroed here). The innermost
 * block is the last merged dim, or the last two (kept m × reduced r) when the last is reduced, so that
 * the outer odometer steps once per block rather than once per short run.
 */
function reduceInto(x: Float32Array, dims: [number, boolean][], acc: Float64Array): void {
  acc.fill(0);
  if (dims.length === 0) {
    if (x.length) acc[0] = x[0];
    return;
  }
  const [last, lastReduced] = dims[dims.length - 1];
  const pair = lastReduced && dims.length >= 2;
  const [kept, run] = lastReduced ? [pair ? dims[dims.length - 2][0] : 1, last] : [last, 1];
  const outer = dims.slice(0, pair ? -2 : -1);
  // Output stride of each outer dim (0 for reduced ones); the block's outputs are contiguous.
  const strides = new Array<number>(outer.length);
  let stride = kept;
  for (let d = outer.length - 1; d >= 0; d--) {
    strides[d] = outer[d][1] ? 0 : stride;
    if (!outer[d][1]) stride *= outer[d][0];
  }
  const index = new Array<number>(outer.length).fill(0);
  let out = 0;
  for (let s = 0; s < x.length; s += kept * run) {
    if (run === 1) {
      for (let t = 0; t < kept; t++) acc[out + t] += x[s + t];
    } else {
      for (let j = 0; j < kept; j++) {
        let sum = 0;
        for (let t = s + j * run, e = t + run; t < e; t++) sum += x[t];
        acc[out + j] += sum;
      }
    }
    // Odometer over the outer dims, keeping the output offset in step.
    for (let d = outer.length - 1; d >= 0; d--) {
      out += strides[d];
      if (++index[d] < outer[d][0]) break;
      out -= strides[d] * outer[d][0];
      index[d] = 0;
    }
  }
}

function reduction(original: BlasKernel, mean: boolean): BlasKernel {
  return (args: BlasKernelArgs) => {
    const x = args.inputs.x!;
    if (x.dtype !== "float32") return original(args);
    const { axis, keepDims } = args.attrs as { axis?: number | number[] | null; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape);
    const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const out = args.backend.makeOutput(shape, "float32");
    const n = tf.util.sizeFromShape(outShape);
    if (accumulator.length < n) accumulator = new Float64Array(n);
    const acc = accumulator.subarray(0, n);
    reduceInto(args.backend.typedArrayFromHeap(x), mergedDims(x.shape, axes), acc);
    const scale = mean ? 1 / tf.util.sizeFromShape(reduceShape) : 1;
    const view = args.backend.typedArrayFromHeap(out);
    for (let j = 0; j < n; j++) view[j] = acc[j] * scale;
    return out;
  };
}

/**
 * `Sum` and `Mean` kernels over `originals` (which take the dtypes these leave).
 *
 * @example
 * ```ts
 * const { Sum, Mean } = reductionKernels({ Sum: old.Sum, Mean: old.Mean });
 * ```
 */
export function reductionKernels(originals: Record<"Sum" | "Mean", BlasKernel>): Record<string, BlasKernel> {
  return { Sum: reduction(originals.Sum, false), Mean: reduction(originals.Mean, true) };
}
