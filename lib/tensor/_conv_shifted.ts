/**
 * Stride-1 convolutions (NHWC, float32, any filter size, padding and dilation) as sums of shifted
 * GEMMs, without im2col. The input is copied once into a zero-padded grid of Hg × Wg pixels per image
 * (Hg = OH + (KH−1)·dh, Wg = OW + (KW−1)·dw) with the padding around it; in the grid's flattened pixel
 * order, output pixel p reads input pixel p + (i·dh·Wg + j·dw) through filter tap (i, j), so
 *
 *   yGrid[p, :] = Σ_{i,j} xGrid[p + offset(i, j), :] · W[i, j]     (one GEMM per tap, K = Ci, beta = 1)
 *
 * over every grid pixel; the output is the [OH, OW] corner of each image's grid (the other grid pixels
 * are computed and dropped: 7–30 % more rows at the U-Net's sizes, against an im2col that writes and
 * reads KH·KW copies of the input). On this 2-core machine this is 2–3× faster than im2col + one GEMM
 * (the im2col loops in JavaScript cost more than the product).
 *
 * The forward pass and the input gradient (a stride-1 convolution of dy with the flipped, transposed
 * filter) run in GEMM calls of a fixed number of whole images that depends on the geometry only, so an
 * image's result does not depend on the batch it is in (docs/design.md §9). The filter gradient
 * dW[i, j] = Σ_p xGrid[p + offset(i, j)]ᵀ · dyGrid[p] is one GEMM per row of taps and block of grid rows
 * (see {@link shiftedConvFilterGrad}).
 *
 * @module
 */
import type { Blas } from "./_blas.ts";

/** One stride-1 convolution: input [B, H, W, Ci] placed at (top, left) of the grid, output [B, OH, OW, Co]. */
export interface ShiftedConv {
  batch: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  top: number;
  left: number;
  kh: number;
  kw: number;
  dilationH: number;
  dilationW: number;
  oh: number;
  ow: number;
}

/** Grid rows per GEMM call: about this many, in whole images. */
const BLOCK_ROWS = 1024;
/** Largest grid in floats per chunk of images (64 MiB). */
const CHUNK_FLOATS = 16 * 1024 * 1024;
const grids = [new Float32Array(0), new Float32Array(0)];

/** Scratch grid `which` (0 or 1) of at least n floats, zeroed unless `zero` is false. */
function grid(which: number, n: number, zero = true): Float32Array {
  if (grids[which].length < n) grids[which] = new Float32Array(n);
  const g = grids[which].subarray(0, n);
  if (zero) g.fill(0);
  return g;
}

function geometry(c: ShiftedConv) {
  const hg = c.oh + (c.kh - 1) * c.dilationH, wg = c.ow + (c.kw - 1) * c.dilationW;
  const pixels = hg * wg;
  const offsets: number[] = [];
  for (let i = 0; i < c.kh; i++) {
    for (let j = 0; j < c.kw; j++) offsets.push(i * c.dilationH * wg + j * c.dilationW);
  }
  // Reads of the last grid pixels run past the last image by up to the largest offset.
  return { hg, wg, pixels, offsets, slack: offsets[offsets.length - 1] };
}

/** Copy images [n0, n1) of src [B, h, w, c] into a grid [n1 − n0, hg, wg, c] at (top, left), clipped. */
function toGrid(
  src: Float32Array,
  [n0, n1]: [number, number],
  [h, w, c]: [number, number, number],
  [hg, wg, top, left]: [number, number, number, number],
  into: Float32Array,
): void {
  const x0 = Math.max(0, -left), x1 = Math.min(w, wg - left);
  if (x1 <= x0) return;
  for (let n = n0; n < n1; n++) {
    for (let y = 0; y < h; y++) {
      const gy = y + top;
      if (gy < 0 || gy >= hg) continue;
      const from = ((n * h + y) * w + x0) * c;
      into.set(src.subarray(from, from + (x1 - x0) * c), (((n - n0) * hg + gy) * wg + x0 + left) * c);
    }
  }
}

/** Chunks [n0, n1) of the batch, each a multiple of `unit` images (except the last) within CHUNK_FLOATS. */
function chunksOf(batch: number, unit: number, floatsPerImage: number): [number, number][] {
  const size = Math.max(unit, Math.floor(CHUNK_FLOATS / floatsPerImage / unit) * unit);
  const out: [number, number][] = [];
  for (let n = 0; n < batch; n += size) out.push([n, Math.min(batch, n + size)]);
  return out;
}

/**
 * out [B, OH, OW, Co] = the stride-1 convolution of src with `taps` ([KH·KW, Ci, Co], the HWIO filter's
 * layout).
 *
 * @example
 * ```ts
 * shiftedConv(blas, { batch: 2, h: 5, w: 5, ci: 3, co: 4, top: 1, left: 1, kh: 3, kw: 3,
 *   dilationH: 1, dilationW: 1, oh: 5, ow: 5 }, x, filter, y); // a 'same' 3×3 convolution
 * ```
 */
export function shiftedConv(
  blas: Blas,
  c: ShiftedConv,
  src: Float32Array,
  taps: Float32Array,
  out: Float32Array,
): void {
  const { hg, wg, pixels, offsets, slack } = geometry(c);
  const perBlock = Math.max(1, Math.floor(BLOCK_ROWS / pixels)), rows = perBlock * pixels;
  for (const [n0, n1] of chunksOf(c.batch, perBlock, pixels * Math.max(c.ci, c.co))) {
    const blocks = Math.ceil((n1 - n0) / perBlock);
    const xg = grid(0, (blocks * rows + slack) * c.ci);
    toGrid(src, [n0, n1], [c.h, c.w, c.ci], [hg, wg, c.top, c.left], xg);
    // Not zeroed: the first tap's GEMM has beta = 0, which writes C without reading it.
    const yg = grid(1, blocks * rows * c.co, false);
    for (let b = 0; b < blocks; b++) {
      const yb = yg.subarray(b * rows * c.co, (b + 1) * rows * c.co);
      offsets.forEach((off, t) => {
        const a = xg.subarray((b * rows + off) * c.ci);
        const wt = taps.subarray(t * c.ci * c.co, (t + 1) * c.ci * c.co);
        blas.sgemmOneCall(false, false, rows, c.co, c.ci, 1, a, c.ci, wt, c.co, t ? 1 : 0, yb, c.co);
      });
    }
    const run = c.ow * c.co;
    for (let n = n0; n < n1; n++) {
      for (let y = 0; y < c.oh; y++) {
        const from = ((n - n0) * hg + y) * wg * c.co;
        out.set(yg.subarray(from, from + run), (n * c.oh + y) * run);
      }
    }
  }
}

/** Grid rows per GEMM call of the filter gradient (per tap before a row of taps is one GEMM): in cache. */
const FILTER_ROWS = 3072;

/**
 * dW [KH·KW, Ci, Co] = Σ over the batch of the filter gradient of the stride-1 convolution `c` of x
 * [B, H, W, Ci] with output gradient dy [B, OH, OW, Co], in a fixed order of GEMMs per chunk of images
 * and block of FILTER_ROWS grid rows (faster here than im2col, whose copy loops cost more than the
 * product). With dilation 1 along the width, a row i of taps is one [KW·Ci, Co] gradient: the taps
 * (i, 0 … KW−1) of grid pixel p read KW·Ci consecutive floats of the grid, at (p + i·Wg)·Ci. Rows of
 * the operands overlap, so as BLAS matrices (leading dimension ≥ width) they are taken every KW-th grid
 * pixel: p = KW·s + r, one GEMM per residue r with leading dimensions KW·Ci and KW·Co and K = rows / KW,
 * without copying anything (1.3–1.5× faster than one GEMM per tap at the U-Net's 32 and 64 channels).
 *
 * @example
 * ```ts
 * shiftedConvFilterGrad(blas, geometry, x, dy, dw);
 * ```
 */
export function shiftedConvFilterGrad(
  blas: Blas,
  c: ShiftedConv,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
): void {
  const { hg, wg, pixels, offsets, slack } = geometry(c);
  // Taps side by side in a GEMM: all of a tap row (dilation 1 along the width), else one.
  const span = c.dilationW === 1 ? c.kw : 1, { ci, co } = c;
  chunksOf(c.batch, 1, pixels * Math.max(ci, co)).forEach(([n0, n1], chunk) => {
    const rows = (n1 - n0) * pixels, padded = Math.ceil(rows / span) * span;
    const xg = grid(0, (padded + slack + span) * ci);
    toGrid(x, [n0, n1], [c.h, c.w, ci], [hg, wg, c.top, c.left], xg);
    // dy on the grid, zero at the pixels that are not outputs (and past the last), so they add nothing.
    const dyg = grid(1, padded * co);
    toGrid(dy, [n0, n1], [c.oh, c.ow, co], [hg, wg, 0, 0], dyg);
    const block = Math.floor(FILTER_ROWS / span) * span;
    for (let p = 0; p < padded; p += block) {
      const k = Math.min(block, padded - p) / span, first = chunk === 0 && p === 0;
      for (let t = 0; t < offsets.length; t += span) {
        const out = dw.subarray(t * ci * co, (t + span) * ci * co);
        for (let r = 0; r < span; r++) {
          const a = xg.subarray((p + offsets[t] + r) * ci), b = dyg.subarray((p + r) * co);
          blas.sgemmOneCall(
            true,
            false,
            span * ci,
            co,
            k,
            1,
            a,
            span * ci,
            b,
            span * co,
            first && !r ? 0 : 1,
            out,
            co,
          );
        }
      }
    }
  });
}

let flippedScratch = new Float32Array(0);

/**
 * The input gradient's geometry and filter: dx = the stride-1 convolution of dy with W flipped in space
 * and with its channel axes swapped, dy placed at ((KH−1)·dh − top, (KW−1)·dw − left).
 *
 * @example
 * ```ts
 * const { conv, taps } = inputGradAsConv(forward, w);
 * shiftedConv(blas, conv, dy, taps, dx);
 * ```
 */
export function inputGradAsConv(c: ShiftedConv, w: Float32Array): { conv: ShiftedConv; taps: Float32Array } {
  const { kh, kw, ci, co } = c;
  if (flippedScratch.length < w.length) flippedScratch = new Float32Array(w.length);
  const taps = flippedScratch.subarray(0, kh * kw * ci * co);
  for (let t = 0; t < kh * kw; t++) {
    const s = kh * kw - 1 - t; // (KH−1−i, KW−1−j)
    for (let a = 0; a < ci; a++) {
      for (let b = 0; b < co; b++) taps[(t * co + b) * ci + a] = w[(s * ci + a) * co + b];
    }
  }
  const conv: ShiftedConv = {
    ...c,
    h: c.oh,
    w: c.ow,
    ci: co,
    co: ci,
    top: (kh - 1) * c.dilationH - c.top,
    left: (kw - 1) * c.dilationW - c.left,
    oh: c.h,
    ow: c.w,
  };
  return { conv, taps };
}
