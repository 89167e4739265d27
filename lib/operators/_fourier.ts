/**
 * MRI-like Fourier under-sampling: y_i = M_i (F x_i + σ_y ε), F the orthonormal 2-D DFT of each channel
 * (`_dft.ts`), M_i keeps a subset of k-space columns (frequencies along W) and zeroes the others. y is stored
 * as real numbers, `[H, W, C, 2]` (real, imaginary parts), ε has independent N(0, 1) real and imaginary
 * parts; unobserved entries of y are exactly 0, as for the mask.
 *
 * Column masks (params `columns`, uint8 `[N, W]`, 1 = sampled; or `[W]` shared by all observations with
 * `shared: true`): a fully sampled centre band of the n_c = max(1, round(center·W)) lowest frequencies
 * (f = −⌊n_c/2⌋ … n_c − 1 − ⌊n_c/2⌋, column f mod W: the unshifted DFT puts frequency 0 at column 0), plus
 * columns drawn uniformly without replacement among the others, to keep max(n_c, round(W / acceleration))
 * columns in all. A shared mask is drawn from the seed alone (a stream of its own), so every shard of a
 * corruption draws the same one.
 *
 * Seen as a real map x ↦ (Re, Im), Aᵀ(u, v) = Re(F⁻¹ M (u + i v)) and, x being real,
 * AᵀA = F⁻¹ diag(w) F with w(k, l) = (m(l) + m(−l mod W)) / 2 (`normal`).
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NDArray, numel, sliceRows } from "../array.ts";
import { Rng } from "../random.ts";
import {
  batchOf,
  type EventSize,
  eventSize,
  expectBinary,
  expectShape,
  type FamilyMethods,
  familyOf,
  InvalidOperatorError,
  requireParam,
  rowStreamsFor,
} from "./_common.ts";
import { dft2Host, dftMatrix, DftTf } from "./_dft.ts";
import { channelsOf } from "./_mask.ts";
import type { OperatorFamily, OperatorParams } from "./types.ts";

/** Configuration of {@link fourierOperator}. */
export interface FourierConfig {
  /** Event shape of x: `[H, W]` or `[H, W, C]`. */
  xShape: readonly number[];
  /** Under-sampling factor: about W / acceleration columns are kept (default 4). */
  acceleration?: number;
  /** Fraction of the W columns in the fully sampled centre band (default 0.08). */
  center?: number;
  /** One column mask for every observation (params `columns` `[W]`) instead of one per image. */
  shared?: boolean;
}

/** A Fourier family's sizes, resolved once from its {@link FourierConfig}. */
interface Fourier extends EventSize {
  h: number;
  w: number;
  c: number;
  yShape: number[];
  /** Centre band columns (always sampled). */
  band: number[];
  /** Columns kept per mask, band included. */
  keepColumns: number;
  shared: boolean;
}

/**
 * The Fourier under-sampling family.
 *
 * @example
 * ```ts
 * const op = fourierOperator({ xShape: [28, 28, 1], acceleration: 4, center: 0.08 });
 * const { y, params } = op.corrupt(x, seed, 1e-2); // y [N, 28, 28, 1, 2], params.columns uint8 [N, 28]
 * ```
 */
export function fourierOperator(config: FourierConfig): OperatorFamily {
  const { xShape, d } = eventSize(config.xShape);
  if (xShape.length < 2 || xShape.length > 3) {
    throw new InvalidOperatorError(`fourier: xShape must be an image [H, W] or [H, W, C], got [${xShape}]`);
  }
  const acceleration = config.acceleration ?? 4, center = config.center ?? 0.08;
  if (!(acceleration >= 1)) {
    throw new InvalidOperatorError(`fourier: acceleration must be ≥ 1, got ${acceleration}`);
  }
  if (!(center >= 0 && center <= 1)) {
    throw new InvalidOperatorError(`fourier: center must be in [0, 1], got ${center}`);
  }
  const [h, w] = xShape;
  const nc = Math.max(1, Math.round(center * w));
  const band: number[] = [];
  for (let f = -Math.floor(nc / 2); f < nc - Math.floor(nc / 2); f++) band.push(((f % w) + w) % w);
  const keepColumns = Math.max(nc, Math.min(w, Math.round(w / acceleration)));
  const shared = config.shared ?? false;
  const yShape = [...xShape, 2];
  const fourier: Fourier = { xShape, d, h, w, c: channelsOf(xShape), yShape, band, keepColumns, shared };
  return familyOf(
    fourier,
    { kind: "fourier", xShape, yShape, perObservation: shared ? [] : ["columns"] },
    fourierMethods,
  );
}

/** One column mask: the centre band, then random other columns from `s` until `keepColumns` are kept. */
function drawColumns({ w, band, keepColumns }: Fourier, s: Rng, out: Uint8Array): void {
  out.fill(0);
  for (const l of band) out[l] = 1;
  const others: number[] = [];
  for (let l = 0; l < w; l++) if (!out[l]) others.push(l);
  // Partial Fisher–Yates: the first `need` entries of `others` become a uniform random subset.
  const need = keepColumns - band.length;
  for (let t = 0; t < need; t++) {
    const j = t + Math.floor(s.uniform() * (others.length - t));
    [others[t], others[j]] = [others[j], others[t]];
    out[others[t]] = 1;
  }
}

function columnsOf(params: OperatorParams): NDArray {
  return requireParam(params, "columns", "fourier");
}

/** The column mask of observation `index` (the shared one when shared). */
function rowColumns({ w, shared }: Fourier, params: OperatorParams, index: number): ArrayLike<number> {
  const cols = columnsOf(params).data;
  return shared ? cols.subarray(0, w) : cols.subarray(index * w, (index + 1) * w);
}

/** Check the `columns` array of a batch of `n` observations (n ignored when shared). */
function checkColumns(f: Fourier, params: OperatorParams, n: number): NDArray {
  const cols = columnsOf(params);
  expectShape(cols, f.shared ? [f.w] : [n, f.w], "columns");
  return cols;
}

/** A x on the host, float64: the masked DFT of each image, `[N, H, W, C, 2]`. */
function applyFourierHost(f: Fourier, x: NDArray, params: OperatorParams): NDArray<Float64Array> {
  const { xShape, d, h, w, c, yShape } = f;
  const n = batchOf(x, xShape, "x");
  if (!f.shared) checkColumns(f, params, n);
  const y = new Float64Array(n * 2 * d);
  for (let r = 0; r < n; r++) {
    const cols = rowColumns(f, params, r);
    const z = dft2Host(
      { re: Float64Array.from(x.data.subarray(r * d, (r + 1) * d)), im: new Float64Array(d) },
      h,
      w,
      c,
      false,
    );
    for (let i = 0; i < d; i++) {
      if (!cols[Math.floor(i / c) % w]) continue;
      y[2 * (r * d + i)] = z.re[i];
      y[2 * (r * d + i) + 1] = z.im[i];
    }
  }
  return { shape: [n, ...yShape], data: y };
}

/** Aᵀ y on the host, float64: Re of the inverse DFT of the masked y. */
function adjointFourierHost(f: Fourier, y: NDArray, params: OperatorParams): NDArray<Float64Array> {
  const { xShape, d, h, w, c, yShape } = f;
  const n = batchOf(y, yShape, "y");
  if (!f.shared) checkColumns(f, params, n);
  const x = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const cols = rowColumns(f, params, r);
    const re = new Float64Array(d), im = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      if (!cols[Math.floor(i / c) % w]) continue;
      re[i] = y.data[2 * (r * d + i)];
      im[i] = y.data[2 * (r * d + i) + 1];
    }
    x.set(dft2Host({ re, im }, h, w, c, true).re, r * d);
  }
  return { shape: [n, ...xShape], data: x };
}

/** The Fourier family's methods, over its resolved {@link Fourier} sizes. */
const fourierMethods: FamilyMethods<Fourier> = {
  bind(f, params) {
    const { xShape, yShape, h, w, c, shared } = f;
    const cols = columnsOf(params);
    const b = shared ? null : cols.shape[0];
    checkColumns(f, params, b ?? 0);
    const mask = tf.tensor4d(Float32Array.from(cols.data), [b ?? 1, 1, w, 1]);
    const dft = new DftTf(h, w);
    const check = (t: tf.Tensor, event: number[], what: string): number => {
      const ok = t.shape.length === event.length + 1 && t.size === t.shape[0] * numel(event) &&
        (b === null || t.shape[0] === b);
      if (!ok) throw new Error(`fourier: ${what} has shape [${t.shape}], expected [${b ?? "B"}, ${event}]`);
      return t.shape[0];
    };
    return {
      batch: b,
      xShape,
      yShape,
      apply: (x) =>
        tf.tidy(() => {
          const n = check(x, xShape, "x");
          const [re, im] = dft.forward(tf.reshape(x, [n, h, w, c]));
          // Real and imaginary parts interleaved last by a concat on a new first axis and one transpose:
          // stack/unstack on the last axis are slow on wasm (10 s for 2000 MNIST images, against 0.1 s).
          const parts = tf.concat(
            [tf.expandDims(tf.mul(re, mask), 0), tf.expandDims(tf.mul(im, mask), 0)],
            0,
          );
          return tf.reshape(tf.transpose(parts, [1, 2, 3, 4, 0]), [n, ...yShape]);
        }),
      adjoint: (y) =>
        tf.tidy(() => {
          const n = check(y, yShape, "y");
          const parts = tf.transpose(tf.reshape(y, [n, h, w, c, 2]), [4, 0, 1, 2, 3]);
          const part = (k: number) => tf.mul(tf.reshape(tf.slice(parts, [k], [1]), [n, h, w, c]), mask);
          return tf.reshape(dft.inverseReal(part(0) as tf.Tensor4D, part(1) as tf.Tensor4D), [n, ...xShape]);
        }),
      dispose(): void {
        mask.dispose();
        dft.dispose();
      },
    };
  },
  corrupt(f, x, rng, sigmaY, firstRow = 0) {
    const { xShape, d, w } = f;
    const n = batchOf(x, xShape, "x");
    const rows = rowStreamsFor(rng, n, firstRow);
    const columns = new Uint8Array(f.shared ? w : n * w);
    if (f.shared) {
      if (typeof rng !== "number") {
        throw new Error("fourier: a shared column mask is drawn from a seed; corrupt was given row streams");
      }
      drawColumns(f, Rng.fromSeed(rng, "fourier-shared-columns"), columns);
    } else {
      for (let r = 0; r < n; r++) drawColumns(f, rows.streams[r], columns.subarray(r * w, (r + 1) * w));
    }
    const params = { columns: { shape: f.shared ? [w] : [n, w], data: columns } };
    const ax = applyFourierHost(f, x, params).data;
    const y = new Float32Array(n * 2 * d);
    for (let r = 0; r < n; r++) {
      const s = rows.streams[r], cols = rowColumns(f, params, r);
      // Noise for every entry (sampled or not) so a row's stream use is fixed.
      for (let i = 0; i < 2 * d; i++) {
        const e = s.normal();
        if (cols[Math.floor(i / (2 * f.c)) % w]) y[r * 2 * d + i] = ax[r * 2 * d + i] + sigmaY * e;
      }
    }
    return { y: { shape: [n, ...f.yShape], data: y }, params };
  },
  applyHost: applyFourierHost,
  adjointHost: adjointFourierHost,
  denseRows(f, params, index) {
    const { h, w, c, d } = f;
    const cols = rowColumns(f, params, index);
    const fh = dftMatrix(h), fw = dftMatrix(w);
    const rows: Float64Array[] = [], yIndex: number[] = [];
    for (let k = 0; k < h; k++) {
      for (let l = 0; l < w; l++) {
        if (!cols[l]) continue;
        for (let ch = 0; ch < c; ch++) {
          // Row (k, l, ch) of F: x[j, m, ch] ↦ F_H[k, j] F_W[l, m]; its real and imaginary parts.
          const re = new Float64Array(d), im = new Float64Array(d);
          for (let j = 0; j < h; j++) {
            for (let m = 0; m < w; m++) {
              const ar = fh.cos[k * h + j],
                ai = fh.sin[k * h + j],
                br = fw.cos[l * w + m],
                bi = fw.sin[l * w + m];
              re[(j * w + m) * c + ch] = ar * br - ai * bi;
              im[(j * w + m) * c + ch] = ar * bi + ai * br;
            }
          }
          const at = 2 * ((k * w + l) * c + ch);
          rows.push(re), yIndex.push(at);
          // Self-conjugate frequencies have an identically zero imaginary row: no information, left out.
          if (im.some((v) => v !== 0)) rows.push(im), yIndex.push(at + 1);
        }
      }
    }
    const a = new Float64Array(rows.length * d);
    rows.forEach((row, i) => a.set(row, i * d));
    return { a, rows: rows.length, cols: d, yIndex: Int32Array.from(yIndex) };
  },
  normal(f, params, index) {
    const { h, w, c, d } = f;
    const cols = rowColumns(f, params, index);
    const weights = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const l = Math.floor(i / c) % w;
      weights[i] = (cols[l] + cols[(w - l) % w]) / 2;
    }
    return {
      basis: "fourier",
      weights,
      applyFunction(fn, v) {
        const z = dft2Host({ re: Float64Array.from(v), im: new Float64Array(d) }, h, w, c, false);
        for (let i = 0; i < d; i++) {
          const g = fn(weights[i]);
          z.re[i] *= g;
          z.im[i] *= g;
        }
        return dft2Host(z, h, w, c, true).re;
      },
    };
  },
  sliceParams: (f, params, start, stop) =>
    f.shared ? params : { ...params, columns: sliceRows(columnsOf(params), start, stop) },
  validateParams(f, params, n) {
    const cols = checkColumns(f, params, n);
    expectBinary(cols, `parameter array "columns"`);
  },
};
