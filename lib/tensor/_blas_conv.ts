/**
 * `Conv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` (NHWC, float32) on the wasm backend
 * through the platform's BLAS: im2col into a scratch buffer, in chunks of whole images (bounded
 * memory), then one GEMM per chunk against the filter viewed as a `[KH·KW·Ci, Co]` matrix:
 *
 * - forward:        y[rows, Co]   = col[rows, K] · W[K, Co]
 * - filter grad:    dW[K, Co]    += colᵀ[K, rows] · dy[rows, Co]   (beta = 1 after the first chunk)
 * - input grad:     dcol[rows, K] = dy[rows, Co] · Wᵀ, then col2im adds dcol into dx.
 *
 * A 1×1, stride-1, unpadded convolution is a plain GEMM on the heap (no im2col). Strides, dilations
 * and any padding ('same', 'valid', explicit) follow TF.js's own conv geometry (`computeConv2DInfo`).
 * Other data formats or dtypes go to the kernel this replaces.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Blas } from "./_blas.ts";
import type { BlasKernel, BlasKernelArgs } from "./_blas_matmul.ts";

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** Largest im2col chunk in floats (64 MiB): at least one image per chunk. */
const CHUNK_FLOATS = 16 * 1024 * 1024;
let scratch = new Float32Array(0);

function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch.subarray(0, n);
}

function convInfo(
  attrs: Record<string, unknown>,
  xShape: number[],
  filterShape: number[],
): Conv2DInfo | null {
  const { strides, pad, dimRoundingMode, dataFormat, dilations } = attrs as {
    strides: number | [number, number];
    pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: "floor" | "round" | "ceil";
    dataFormat?: string;
    dilations?: number | [number, number];
  };
  if (dataFormat && dataFormat !== "NHWC") return null;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
  );
}

/** Rows of one chunk (whole images) and the images it covers. */
function chunks(info: Conv2DInfo): [number, number][] {
  const perImage = info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  const images = Math.max(1, Math.floor(CHUNK_FLOATS / Math.max(1, perImage)));
  const out: [number, number][] = [];
  for (let b = 0; b < info.batchSize; b += images) out.push([b, Math.min(info.batchSize, b + images)]);
  return out;
}

/**
 * Walk the (output pixel, kh, kw) → input pixel map of images [b0, b1): `visit(colOffset, xOffset)`
 * for every in-bounds tap, with offsets in floats of Ci-long runs; out-of-bounds taps are skipped
 * (the col buffer's zeros, or nothing to add).
 */
function forEachTap(info: Conv2DInfo, b0: number, b1: number, visit: (col: number, x: number) => void): void {
  const { inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const k = kh * kw * ci;
  for (let b = b0; b < b1; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const row = ((b - b0) * oh + y) * ow + x;
        for (let i = 0; i < kh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = x * sw - left + j * dw;
            if (ix < 0 || ix >= w) continue;
            visit(row * k + (i * kw + j) * ci, ((b * h + iy) * w + ix) * ci);
          }
        }
      }
    }
  }
}

function im2col(info: Conv2DInfo, x: Float32Array, b0: number, b1: number): Float32Array {
  const ci = info.inChannels;
  const col = scratchOf(
    (b1 - b0) * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * ci,
  );
  col.fill(0);
  forEachTap(info, b0, b1, (c, s) => {
    for (let t = 0; t < ci; t++) col[c + t] = x[s + t];
  });
  return col;
}

function col2imAdd(info: Conv2DInfo, col: Float32Array, dx: Float32Array, b0: number, b1: number): void {
  const ci = info.inChannels;
  forEachTap(info, b0, b1, (c, s) => {
    for (let t = 0; t < ci; t++) dx[s + t] += col[c + t];
  });
}

/** A 1×1, stride-1, unpadded, undilated convolution: the image is already the col matrix. */
function isPointwise(info: Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 &&
    info.strideWidth === 1 && p.top === 0 && p.left === 0 && p.bottom === 0 && p.right === 0;
}

function float32(...t: tf.TensorInfo[]): boolean {
  return t.every((v) => v.dtype === "float32");
}

/**
 * The three conv kernels through BLAS; each falls back to `originals[name]` where it does not apply.
 *
 * @example
 * ```ts
 * const kernels = blasConvKernels(blas, { Conv2D: old.Conv2D, … });
 * ```
 */
export function blasConvKernels(
  blas: Blas,
  originals: Record<string, BlasKernel>,
): Record<string, BlasKernel> {
  const conv2D: BlasKernel = (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const info = float32(x, filter) ? convInfo(args.attrs, x.shape, filter.shape) : null;
    if (!info) return originals.Conv2D(args);
    const out = args.backend.makeOutput([...info.outShape], "float32");
    const xv = args.backend.typedArrayFromHeap(x), wv = args.backend.typedArrayFromHeap(filter);
    const yv = args.backend.typedArrayFromHeap(out);
    const k = info.filterHeight * info.filterWidth * info.inChannels, co = info.outChannels;
    const pixels = info.outHeight * info.outWidth;
    if (isPointwise(info)) {
      blas.sgemm(false, false, info.batchSize * pixels, co, k, 1, xv, k, wv, co, 0, yv, co);
      return out;
    }
    for (const [b0, b1] of chunks(info)) {
      const col = im2col(info, xv, b0, b1);
      const rows = (b1 - b0) * pixels;
      blas.sgemm(false, false, rows, co, k, 1, col, k, wv, co, 0, yv.subarray(b0 * pixels * co), co);
    }
    return out;
  };

  const backpropFilter: BlasKernel = (args: BlasKernelArgs) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const filterShape = args.attrs.filterShape as number[];
    const info = float32(x, dy) ? convInfo(args.attrs, x.shape, filterShape) : null;
    if (!info) return originals.Conv2DBackpropFilter(args);
    const out = args.backend.makeOutput([...filterShape], "float32");
    const xv = args.backend.typedArrayFromHeap(x), dyv = args.backend.typedArrayFromHeap(dy);
    const dw = args.backend.typedArrayFromHeap(out);
    const k = info.filterHeight * info.filterWidth * info.inChannels, co = info.outChannels;
    const pixels = info.outHeight * info.outWidth;
    if (isPointwise(info)) {
      blas.sgemm(true, false, k, co, info.batchSize * pixels, 1, xv, k, dyv, co, 0, dw, co);
      return out;
    }
    chunks(info).forEach(([b0, b1], i) => {
      const col = im2col(info, xv, b0, b1);
      const rows = (b1 - b0) * pixels;
      blas.sgemm(true, false, k, co, rows, 1, col, k, dyv.subarray(b0 * pixels * co), co, i ? 1 : 0, dw, co);
    });
    return out;
  };

  const backpropInput: BlasKernel = (args: BlasKernelArgs) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const inputShape = args.attrs.inputShape as number[];
    const info = float32(dy, filter) ? convInfo(args.attrs, inputShape, filter.shape) : null;
    if (!info) return originals.Conv2DBackpropInput(args);
    const out = args.backend.makeOutput([...inputShape], "float32");
    const dyv = args.backend.typedArrayFromHeap(dy), wv = args.backend.typedArrayFromHeap(filter);
    const dx = args.backend.typedArrayFromHeap(out);
    const k = info.filterHeight * info.filterWidth * info.inChannels, co = info.outChannels;
    const pixels = info.outHeight * info.outWidth;
    if (isPointwise(info)) {
      blas.sgemm(false, true, info.batchSize * pixels, k, co, 1, dyv, co, wv, co, 0, dx, k);
      return out;
    }
    dx.fill(0);
    for (const [b0, b1] of chunks(info)) {
      const rows = (b1 - b0) * pixels;
      const col = scratchOf(rows * k);
      blas.sgemm(false, true, rows, k, co, 1, dyv.subarray(b0 * pixels * co), co, wv, co, 0, col, k);
      col2imAdd(info, col, dx, b0, b1);
    }
    return out;
  };

  return { Conv2D: conv2D, Conv2DBackpropFilter: backpropFilter, Conv2DBackpropInput: backpropInput };
}
