/**
 * `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` (NHWC, float32) on the wasm
 * backend through the platform's BLAS: im2col into a scratch buffer, in chunks of whole images (bounded
 * memory), then one GEMM per chunk against the filter viewed as a `[KH·KW·Ci, Co]` matrix:
 *
 * - forward:        y[rows, Co]   = col[rows, K] · W[K, Co]
 * - filter grad:    dW[K, Co]    += colᵀ[K, rows] · dy[rows, Co]   (beta = 1 after the first chunk)
 * - input grad:     dcol[rows, K] = dy[rows, Co] · Wᵀ, then col2im adds dcol into dx.
 *
 * `FusedConv2D` without an activation (the U-Net's convolutions with their bias) is the same kernel with
 * the bias added to each block of output rows right after its GEMMs, while the block is in cache, as one
 * more GEMM of K = 1 (a column of ones times the bias: one rounding per value, as a separate add), which
 * saves the broadcast add's pass over the output; other activations go to the backend's kernel.
 *
 * A 1×1, stride-1, unpadded convolution is a plain GEMM on the heap (no im2col); other stride-1
 * convolutions are sums of shifted GEMMs over a padded copy (lib/tensor/_conv_shifted.ts). Strides, dilations
 * and any padding ('same', 'valid', explicit) follow TF.js's own conv geometry (`computeConv2DInfo`).
 * Other data formats or dtypes go to the kernel this replaces.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Blas, onesOf } from "./_blas.ts";
import type { BlasKernel, BlasKernelArgs } from "./_blas_matmul.ts";
import { inputGradAsConv, type ShiftedConv, shiftedConv, shiftedConvFilterGrad } from "./_conv_shifted.ts";

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

/** Rows per GEMM call of the im2col path: about this many, in whole images. */
const BLOCK_ROWS = 512;
let padA = new Float32Array(0), padC = new Float32Array(0);

/**
 * C[m, n] = A[m, k] · op(B) (row-major, A and C dense) in calls of exactly `images` · `pixels` rows, the
 * last block's missing rows zero in a scratch: every call has the same shape, fixed by the geometry, so a
 * row's result does not depend on how many images share the batch (the 128-row blocks of `Blas.sgemm` do
 * the same in calls 8× smaller, at about half the speed for these shapes).
 */
function imageBlocked(
  blas: Blas,
  [m, n, k]: [number, number, number],
  a: Float32Array,
  transB: boolean,
  b: Float32Array,
  c: Float32Array,
  pixels: number,
): void {
  const unit = Math.max(1, Math.floor(BLOCK_ROWS / pixels)) * pixels, ldb = transB ? k : n;
  const full = Math.floor(m / unit) * unit;
  for (let r = 0; r < full; r += unit) {
    blas.sgemmOneCall(false, transB, unit, n, k, 1, a.subarray(r * k), k, b, ldb, 0, c.subarray(r * n), n);
  }
  if (full === m) return;
  if (padA.length < unit * k) padA = new Float32Array(unit * k);
  if (padC.length < unit * n) padC = new Float32Array(unit * n);
  padA.set(a.subarray(full * k, m * k));
  padA.fill(0, (m - full) * k, unit * k);
  blas.sgemmOneCall(false, transB, unit, n, k, 1, padA, k, b, ldb, 0, padC, n);
  c.set(padC.subarray(0, (m - full) * n), full * n);
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

/** A stride-1 convolution's geometry for lib/tensor/_conv_shifted.ts, or null for strided ones. */
function stride1(info: Conv2DInfo): ShiftedConv | null {
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  return {
    batch: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    co: info.outChannels,
    top: info.padInfo.top,
    left: info.padInfo.left,
    kh: info.filterHeight,
    kw: info.filterWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    oh: info.outHeight,
    ow: info.outWidth,
  };
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

/** What one conv kernel body receives: the geometry, heap views of its inputs and its output. */
interface ConvCall {
  info: Conv2DInfo;
  first: Float32Array;
  second: Float32Array;
  /** The bias [Co] of a fused convolution, else null. */
  bias: Float32Array | null;
  out: Float32Array;
  /** KH·KW·Ci, the rows of the filter matrix. */
  k: number;
  co: number;
  /** Output pixels per image. */
  pixels: number;
}

/**
 * A conv kernel: check dtypes and data format (else `fallback`), allocate the output of `outShape`,
 * then take the heap views (after the allocation, which can grow the heap) and run `body`.
 */
function convKernel(
  names: [string, string],
  shapes: (args: BlasKernelArgs) => { x: number[]; filter: number[] },
  outShape: (info: Conv2DInfo, args: BlasKernelArgs) => number[],
  fallback: BlasKernel,
  body: (c: ConvCall) => void,
): BlasKernel {
  return (args) => {
    const first = args.inputs[names[0]]!, second = args.inputs[names[1]]!;
    const { x, filter } = shapes(args);
    const info = float32(first, second) ? convInfo(args.attrs, x, filter) : null;
    if (!info) return fallback(args);
    const out = args.backend.makeOutput(outShape(info, args), "float32");
    const bias = args.inputs.bias;
    body({
      info,
      first: args.backend.typedArrayFromHeap(first),
      second: args.backend.typedArrayFromHeap(second),
      bias: bias ? args.backend.typedArrayFromHeap(bias) : null,
      out: args.backend.typedArrayFromHeap(out),
      k: info.filterHeight * info.filterWidth * info.inChannels,
      co: info.outChannels,
      pixels: info.outHeight * info.outWidth,
    });
    return out;
  };
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
  /** y += the bias on every row (rows × Co): a K = 1 product with a column of ones, one rounding per value. */
  const addBias = (y: Float32Array, rows: number, co: number, bias: Float32Array | null) => {
    if (bias) blas.sgemmOneCall(false, false, rows, co, 1, 1, onesOf(rows), 1, bias, co, 1, y, co);
  };
  const forward = (fallback: BlasKernel) =>
    convKernel(
      ["x", "filter"],
      (args) => ({ x: args.inputs.x!.shape, filter: args.inputs.filter!.shape }),
      (info) => [...info.outShape],
      fallback,
      ({ info, first: x, second: w, bias, out: y, k, co, pixels }) => {
        if (isPointwise(info)) {
          blas.sgemm(false, false, info.batchSize * pixels, co, k, 1, x, k, w, co, 0, y, co);
          return addBias(y, info.batchSize * pixels, co, bias);
        }
        const shifted = stride1(info);
        if (shifted) {
          return shiftedConv(
            blas,
            shifted,
            x,
            w,
            y,
            bias ? (yb, rows) => addBias(yb, rows, co, bias) : null,
          );
        }
        for (const [b0, b1] of chunks(info)) {
          const col = im2col(info, x, b0, b1);
          imageBlocked(
            blas,
            [(b1 - b0) * pixels, co, k],
            col,
            false,
            w,
            y.subarray(b0 * pixels * co),
            pixels,
          );
          addBias(y.subarray(b0 * pixels * co), (b1 - b0) * pixels, co, bias);
        }
      },
    );
  const conv2D = forward(originals.Conv2D);
  // A fused convolution with a bias [Co] (or none) and no activation, as the U-Net's layers are; other
  // activations go to the backend's own kernel.
  const fusedForward = forward(originals.FusedConv2D);
  const fusedConv2D: BlasKernel = (args) => {
    const { bias, preluActivationWeights } = args.inputs;
    const co = args.inputs.filter!.shape[3];
    const plain = (args.attrs.activation ?? "linear") === "linear" && !preluActivationWeights &&
      (!bias || (bias.dtype === "float32" && tf.util.sizeFromShape(bias.shape) === co));
    return (plain ? fusedForward : originals.FusedConv2D)(args);
  };

  const backpropFilter = convKernel(
    ["x", "dy"],
    (args) => ({ x: args.inputs.x!.shape, filter: args.attrs.filterShape as number[] }),
    (_, args) => [...(args.attrs.filterShape as number[])],
    originals.Conv2DBackpropFilter,
    ({ info, first: x, second: dy, out: dw, k, co, pixels }) => {
      if (isPointwise(info)) {
        return blas.sgemm(true, false, k, co, info.batchSize * pixels, 1, x, k, dy, co, 0, dw, co);
      }
      const shifted = stride1(info);
      if (shifted) return shiftedConvFilterGrad(blas, shifted, x, dy, dw);
      chunks(info).forEach(([b0, b1], i) => {
        const col = im2col(info, x, b0, b1);
        const rows = (b1 - b0) * pixels;
        blas.sgemm(true, false, k, co, rows, 1, col, k, dy.subarray(b0 * pixels * co), co, i ? 1 : 0, dw, co);
      });
    },
  );

  const backpropInput = convKernel(
    ["dy", "filter"],
    (args) => ({ x: args.attrs.inputShape as number[], filter: args.inputs.filter!.shape }),
    (_, args) => [...(args.attrs.inputShape as number[])],
    originals.Conv2DBackpropInput,
    ({ info, first: dy, second: w, out: dx, k, co, pixels }) => {
      if (isPointwise(info)) {
        return blas.sgemm(false, true, info.batchSize * pixels, k, co, 1, dy, co, w, co, 0, dx, k);
      }
      const shifted = stride1(info);
      if (shifted) {
        const { conv, taps } = inputGradAsConv(shifted, w);
        return shiftedConv(blas, conv, dy, taps, dx);
      }
      dx.fill(0);
      for (const [b0, b1] of chunks(info)) {
        const rows = (b1 - b0) * pixels;
        const col = scratchOf(rows * k);
        imageBlocked(blas, [rows, k, co], dy.subarray(b0 * pixels * co), true, w, col, pixels);
        col2imAdd(info, col, dx, b0, b1);
      }
    },
  );

  return {
    Conv2D: conv2D,
    FusedConv2D: fusedConv2D,
    Conv2DBackpropFilter: backpropFilter,
    Conv2DBackpropInput: backpropInput,
  };
}
