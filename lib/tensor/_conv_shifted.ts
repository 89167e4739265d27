/**
 * Stride-1 convolutions (NHWC, float32, any filter size, padding and dilation) as sums of shifted
 * GEMMs, without im2col. The input is copied once into a zero-padded grid: each image row of W pixels is
 * followed by Zc zero pixels (row pitch Wc = W + Zc), each image of H rows by Zr zero rows, with Zc and Zr
 * the larger of the two paddings along that axis, so the padding on one side of a row (or image) is
 * shared with the next one's other side. In the grid's flattened pixel order, output pixel (y, x) sits
 * where input pixel (y, x) does, and reads input pixel (y + i·dh − top, x + j·dw − left) through filter
 * tap (i, j): a fixed offset (i·dh − top)·Wc + j·dw − left, which lands on a zero of the padding when
 * that pixel is outside the image, so
 *
 *   yGrid[p, :] = Σ_{i,j} xGrid[p + offset(i, j), :] · W[i, j]     (one GEMM per tap, K = Ci, beta = 1)
 *
 * over every grid pixel; the output is the [OH, OW] corner of each image's (H + Zr) × Wc pixels (the
 * other pixels are computed and dropped: 7, 15 and 31 % more rows than outputs at 28², 14² and 7² with
 * a 3×3 'same' filter, against 15, 31 and 65 % with a separate border around every image; an im2col
 * instead writes and reads KH·KW copies of the input, and its loops in JavaScript cost more than the
 * product).
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

/** Scratch grid `which` (0 or 1) of at least n floats (not zeroed: {@link toGrid} writes every float). */
function grid(which: number, n: number): Float32Array {
  if (grids[which].length < n) grids[which] = new Float32Array(n);
  return grids[which].subarray(0, n);
}

/** The grid of a stride-1 convolution, in pixels. */
interface Layout {
  /** Row pitch: W + Zc. */
  wc: number;
  /** Rows per image: H + Zr. */
  pitch: number;
  /** Pixels per image: pitch · wc. */
  image: number;
  /** Pixels before the first image's first row: Zr zero rows and one more for reads left of column 0. */
  lead: number;
  /** Read offset of each tap (i, j), row-major, from the output pixel. */
  offsets: number[];
  /** Reads past the last output pixel (the largest offset, at least 0). */
  slack: number;
}

function layout(c: ShiftedConv): Layout {
  const right = c.ow - c.w + (c.kw - 1) * c.dilationW - c.left;
  const bottom = c.oh - c.h + (c.kh - 1) * c.dilationH - c.top;
  const zc = Math.max(0, c.left, right, c.ow - c.w), zr = Math.max(0, c.top, bottom, c.oh - c.h);
  const wc = c.w + zc, pitch = c.h + zr;
  const offsets: number[] = [];
  for (let i = 0; i < c.kh; i++) {
    for (let j = 0; j < c.kw; j++) offsets.push((i * c.dilationH - c.top) * wc + j * c.dilationW - c.left);
  }
  return { wc, pitch, image: pitch * wc, lead: (zr + 1) * wc, offsets, slack: Math.max(0, ...offsets) };
}

/**
 * Write images [n0, n1) of src [B, h, w, c] into the grid `into` (its first `total` pixels) with the
 * layout L: each image row at its place, zeros everywhere else (the padding, the rows after each image,
 * before the first and after the last).
 */
function toGrid(
  src: Float32Array,
  [n0, n1]: [number, number],
  [h, w, c]: [number, number, number],
  L: Layout,
  total: number,
  into: Float32Array,
): void {
  into.fill(0, 0, L.lead * c);
  for (let n = n0; n < n1; n++) {
    const base = L.lead + (n - n0) * L.image;
    for (let y = 0; y < h; y++) {
      const row = (base + y * L.wc) * c, from = (n * h + y) * w * c;
      into.set(src.subarray(from, from + w * c), row);
      into.fill(0, row + w * c, row + L.wc * c);
    }
    into.fill(0, (base + h * L.wc) * c, (base + L.image) * c);
  }
  into.fill(0, (L.lead + (n1 - n0) * L.image) * c, total * c);
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
 * layout); `epilogue` runs on each block of output rows ([rows, Co], in cache) after its GEMMs (the bias).
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
  epilogue: ((block: Float32Array, rows: number) => void) | null = null,
): void {
  const L = layout(c);
  const perBlock = Math.max(1, Math.floor(BLOCK_ROWS / L.image)), rows = perBlock * L.image;
  for (const [n0, n1] of chunksOf(c.batch, perBlock, L.image * Math.max(c.ci, c.co))) {
    const blocks = Math.ceil((n1 - n0) / perBlock), total = L.lead + blocks * rows + L.slack;
    const xg = grid(0, total * c.ci);
    toGrid(src, [n0, n1], [c.h, c.w, c.ci], L, total, xg);
    // Not zeroed: the first tap's GEMM has beta = 0, which writes C without reading it.
    const yg = grid(1, blocks * rows * c.co);
    for (let b = 0; b < blocks; b++) {
      const yb = yg.subarray(b * rows * c.co, (b + 1) * rows * c.co);
      L.offsets.forEach((off, t) => {
        const a = xg.subarray((L.lead + b * rows + off) * c.ci);
        const wt = taps.subarray(t * c.ci * c.co, (t + 1) * c.ci * c.co);
        blas.sgemmOneCall(false, false, rows, c.co, c.ci, 1, a, c.ci, wt, c.co, t ? 1 : 0, yb, c.co);
      });
      epilogue?.(yb, rows);
    }
    const run = c.ow * c.co;
    for (let n = n0; n < n1; n++) {
      for (let y = 0; y < c.oh; y++) {
        const from = ((n - n0) * L.image + y * L.wc) * c.co;
        out.set(yg.subarray(from, from + run), (n * c.oh + y) * run);
      }
    }
  }
}

/**
 * Floats of x and dy per block of grid rows of the filter gradient (96 KiB): the block's KH·KW products
 * (rows of taps × residues) read it from L2. Blocks of 384 rows at Ci = Co = 32 and 192 at 64 ran the
 * U-Net's filter gradients 1.25–1.3× faster than 3,072 rows (a block that no longer stayed in cache
 * between the products).
 */
const FILTER_FLOATS = 24 * 1024;

/**
 * dW [KH·KW, Ci, Co] = Σ over the batch of the filter gradient of the stride-1 convolution `c` of x
 * [B, H, W, Ci] with output gradient dy [B, OH, OW, Co], in a fixed order of GEMMs per chunk of images
 * and block of grid rows (FILTER_FLOATS; faster here than im2col, whose copy loops cost more than the
 * product). With dilation 1 along the width, a row i of taps is one [KW·Ci, Co] gradient: the taps
 * (i, 0 … KW−1) of grid pixel p read KW·Ci consecutive floats of the grid, at (p + offset(i, 0))·Ci. Rows of
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
  const L = layout(c);
  // Taps side by side in a GEMM: all of a tap row (dilation 1 along the width), else one.
  const span = c.dilationW === 1 ? c.kw : 1, { ci, co } = c;
  chunksOf(c.batch, 1, L.image * Math.max(ci, co)).forEach(([n0, n1], chunk) => {
    const rows = (n1 - n0) * L.image, padded = Math.ceil(rows / span) * span;
    const total = L.lead + padded + L.slack + span;
    const xg = grid(0, total * ci);
    toGrid(x, [n0, n1], [c.h, c.w, ci], L, total, xg);
    // dy at the output pixels, zero at the others (and past the last), so they add nothing.
    const dyg = grid(1, (L.lead + padded) * co);
    toGrid(dy, [n0, n1], [c.oh, c.ow, co], L, L.lead + padded, dyg);
    const block = Math.max(1, Math.floor(FILTER_FLOATS / (ci + co) / span)) * span;
    for (let p = 0; p < padded; p += block) {
      const k = Math.min(block, padded - p) / span, first = chunk === 0 && p === 0;
      for (let t = 0; t < L.offsets.length; t += span) {
        const out = dw.subarray(t * ci * co, (t + span) * ci * co);
        for (let r = 0; r < span; r++) {
          const a = xg.subarray((L.lead + p + L.offsets[t] + r) * ci),
            b = dyg.subarray((L.lead + p + r) * co);
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
