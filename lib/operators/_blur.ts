/**
 * Blur: y_i = k ∗ x_i + σ_y ε, a same-size ("same" zero padding) correlation with one kernel
 * shared by all observations. Vectors `[D]` use a 1-D kernel `[K]`; images `[H, W]` or
 * `[H, W, C]` a 2-D kernel `[K, K]` applied to each channel separately. K must be odd so that
 * "same" padding is symmetric, which makes the adjoint exactly the correlation with the
 * flipped kernel.
 *
 * The default kernel is a normalised Gaussian of standard deviation `width` pixels truncated at
 * 3 widths (K = 2⌈3·width⌉ + 1); an explicit kernel may be given instead.
 *
 * Parameters: `kernel`, float32 `[K]` or `[K, K]`, shared (not per observation). `corrupt`
 * returns it too so stored observations are self-describing.
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NDArray } from "../array.ts";
import {
  batchOf,
  type EventSize,
  eventSize,
  expectFinite,
  type FamilyMethods,
  familyOf,
  InvalidOperatorError,
  rangeIndex,
  requireParam,
  rowStreamsFor,
} from "./_common.ts";
import type { OperatorFamily, OperatorParams } from "./types.ts";

/** Configuration of {@link blurOperator}. */
export interface BlurConfig {
  /** Event shape of x: `[D]`, `[H, W]` or `[H, W, C]`. */
  xShape: readonly number[];
  /** Standard deviation of the Gaussian kernel, in pixels (ignored when `kernel` is given). */
  width?: number;
  /** Kernel size K (odd); default 2⌈3·width⌉ + 1. */
  size?: number;
  /** Explicit kernel: K values for vectors, K·K row-major values for images. */
  kernel?: readonly number[];
}

/** A blur family's sizes and default kernel, resolved once from its {@link BlurConfig}. */
interface Blur extends EventSize {
  /** Image height (1 for vectors), width (D for vectors) and channels. */
  h: number;
  w: number;
  c: number;
  /** Kernel height (1 for vectors) and width. */
  kh: number;
  kw: number;
  /** `[K]` or `[K, K]`. */
  kernelShape: number[];
  /** The configured kernel, as `corrupt` stores it. */
  kernelParam: NDArray<Float32Array>;
}

/**
 * The blur family.
 *
 * @example
 * ```ts
 * const op = blurOperator({ xShape: [32, 32, 3], width: 1 });
 * const { y, params } = op.corrupt(x, seed, 0.01); // params.kernel: [7, 7]
 * ```
 */
export function blurOperator(config: BlurConfig): OperatorFamily {
  const { xShape, d } = eventSize(config.xShape);
  if (xShape.length < 1 || xShape.length > 3) {
    throw new InvalidOperatorError(`blur: xShape must be [D], [H, W] or [H, W, C], got [${xShape}]`);
  }
  const oneD = xShape.length === 1;
  const { ksize, kernel } = configuredKernel(config, oneD);
  if (ksize % 2 !== 1) throw new InvalidOperatorError(`blur: kernel size must be odd, got ${ksize}`);
  const kernelShape = oneD ? [ksize] : [ksize, ksize];
  const blur: Blur = {
    xShape,
    d,
    h: oneD ? 1 : xShape[0],
    w: oneD ? xShape[0] : xShape[1],
    c: xShape.length === 3 ? xShape[2] : 1,
    kh: oneD ? 1 : ksize,
    kw: ksize,
    kernelShape,
    kernelParam: { shape: kernelShape, data: Float32Array.from(kernel) },
  };
  return familyOf(blur, { kind: "blur", xShape, yShape: xShape, perObservation: [] }, blurMethods);
}

/**
 * A normalised 1-D Gaussian of standard deviation `width` and odd `size`.
 *
 * @example
 * ```ts
 * gaussianKernel1d(1, 7); // 7 weights summing to 1
 * ```
 */
function gaussianKernel1d(width: number, size: number): Float64Array {
  if (!(width > 0)) throw new InvalidOperatorError(`blur: width must be positive, got ${width}`);
  const r = (size - 1) / 2;
  const k = new Float64Array(size);
  let s = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-0.5 * ((i - r) / width) ** 2);
    s += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= s;
  return k;
}

/** The explicit kernel of `config`, or its Gaussian (separable in 2-D), and its size K. */
function configuredKernel(config: BlurConfig, oneD: boolean): { ksize: number; kernel: Float64Array } {
  if (config.kernel) {
    const n = config.kernel.length;
    const ksize = oneD ? n : Math.round(Math.sqrt(n));
    if ((oneD ? ksize : ksize * ksize) !== n) {
      throw new InvalidOperatorError(`blur: a 2-D kernel needs K·K values, got ${n}`);
    }
    return { ksize, kernel: Float64Array.from(config.kernel) };
  }
  const width = config.width ?? 1;
  const ksize = config.size ?? 2 * Math.ceil(3 * width) + 1;
  const k1 = gaussianKernel1d(width, ksize);
  if (oneD) return { ksize, kernel: k1 };
  const kernel = new Float64Array(ksize * ksize);
  for (let i = 0; i < ksize; i++) {
    for (let j = 0; j < ksize; j++) kernel[i * ksize + j] = k1[i] * k1[j];
  }
  return { ksize, kernel };
}

function kernelOf({ kernelShape, kernelParam }: Blur, params: OperatorParams): NDArray {
  const k = params.kernel ?? kernelParam;
  if (k.shape.length !== kernelShape.length || k.shape.some((s, i) => s !== kernelShape[i])) {
    throw new InvalidOperatorError(
      `parameter array "kernel" has shape [${k.shape}], expected [${kernelShape}]`,
    );
  }
  return k;
}

/** Same-size correlation on the host, float64; `flip` correlates with the flipped kernel (adjoint). */
function correlateHost(blur: Blur, x: NDArray, kernel: NDArray, flip: boolean): NDArray<Float64Array> {
  const { xShape, h, w, c, d, kh, kw } = blur;
  const n = batchOf(x, xShape, "x");
  const out = new Float64Array(n * d);
  const rh = (kh - 1) / 2, rw = (kw - 1) / 2;
  const kd = kernel.data;
  for (let b = 0; b < n; b++) {
    const base = b * d;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (let u = 0; u < kh; u++) {
            const ii = i + u - rh;
            if (ii < 0 || ii >= h) continue;
            for (let v = 0; v < kw; v++) {
              const jj = j + v - rw;
              if (jj < 0 || jj >= w) continue;
              const kidx = flip ? (kh - 1 - u) * kw + (kw - 1 - v) : u * kw + v;
              acc += kd[kidx] * x.data[base + (ii * w + jj) * c + ch];
            }
          }
          out[base + (i * w + j) * c + ch] = acc;
        }
      }
    }
  }
  return { shape: [n, ...xShape], data: out };
}

/** The blur family's methods, over its resolved {@link Blur} sizes and kernel. */
const blurMethods: FamilyMethods<Blur> = {
  bind(blur, params) {
    const { xShape, h, w, c, d, kh, kw } = blur;
    const kd = kernelOf(blur, params).data;
    const flipped = new Float32Array(kh * kw);
    for (let i = 0; i < kh * kw; i++) flipped[i] = kd[kh * kw - 1 - i];
    const filter = tf.tensor4d(Float32Array.from(kd), [kh, kw, 1, 1]);
    const filterFlipped = tf.tensor4d(flipped, [kh, kw, 1, 1]);
    // Channels are folded into the batch so a single-channel conv2d serves every channel
    // (depthwise convolutions lack fast paths and gradients on wasm).
    const correlate = (t: tf.Tensor, f: tf.Tensor4D, what: string): tf.Tensor =>
      tf.tidy(() => {
        if (t.shape.length !== xShape.length + 1 || t.size !== t.shape[0] * d) {
          throw new Error(`blur: ${what} has shape [${t.shape}], expected [B, ${xShape}]`);
        }
        const b = t.shape[0];
        let img: tf.Tensor4D;
        if (c === 1) img = tf.reshape(t, [b, h, w, 1]);
        else img = tf.reshape(tf.transpose(tf.reshape(t, [b, h, w, c]), [0, 3, 1, 2]), [b * c, h, w, 1]);
        const out = tf.conv2d(img, f, 1, "same");
        if (c === 1) return tf.reshape(out, [b, ...xShape]);
        return tf.reshape(tf.transpose(tf.reshape(out, [b, c, h, w]), [0, 2, 3, 1]), [b, ...xShape]);
      });
    return {
      batch: null,
      xShape,
      yShape: xShape,
      apply: (x) => correlate(x, filter, "x"),
      adjoint: (y) => correlate(y, filterFlipped, "y"),
      dispose(): void {
        filter.dispose();
        filterFlipped.dispose();
      },
    };
  },
  corrupt(blur, x, rng, sigmaY, firstRow = 0) {
    const { xShape, d, kernelShape, kernelParam } = blur;
    const n = batchOf(x, xShape, "x");
    const rows = rowStreamsFor(rng, n, firstRow);
    const ax = correlateHost(blur, x, kernelParam, false).data;
    const y = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const s = rows.streams[r];
      for (let j = 0; j < d; j++) y[r * d + j] = ax[r * d + j] + sigmaY * s.normal();
    }
    return {
      y: { shape: [n, ...xShape], data: y },
      params: { kernel: { shape: [...kernelShape], data: kernelParam.data.slice() } },
    };
  },
  applyHost: (blur, x, params) => correlateHost(blur, x, kernelOf(blur, params), false),
  adjointHost: (blur, y, params) => correlateHost(blur, y, kernelOf(blur, params), true),
  denseRows(blur, params) {
    const { xShape, d } = blur;
    // Columns of A are the images of basis vectors: D host convolutions, for small D only.
    const k = kernelOf(blur, params);
    const eye = new Float64Array(d * d);
    for (let j = 0; j < d; j++) eye[j * d + j] = 1;
    const cols = correlateHost(blur, { shape: [d, ...xShape], data: eye }, k, false).data; // row j = A e_j
    const a = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = cols[j * d + i];
    return { a, rows: d, cols: d, yIndex: rangeIndex(d) };
  },
  normal: () => null, // AᵀA has no known diagonalising basis here
  sliceParams: (_blur, params) => params,
  validateParams(blur, params) {
    const k = requireParam(params, "kernel", "blur");
    kernelOf(blur, params);
    expectFinite(k, "kernel");
  },
};
