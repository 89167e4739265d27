/**
 * Image quality against a reference, per image and on the host: PSNR and SSIM of images `[N, H, W, C]`
 * (channels last) whose pixels lie in [−1, 1], so the data range is L = 2 (an option).
 *
 * - PSNR of one image: 10 log₁₀(L² / MSE), MSE over all its pixels and channels; +∞ for identical images.
 *   The batch figure is the mean over images of the per-image PSNR.
 * - SSIM (Wang, Bovik, Sheikh & Simoncelli 2004): local means, variances and covariance under a normalised
 *   Gaussian window of σ = 1.5 and size w × w with w = 11, or the largest odd size that fits smaller images
 *   (w = 7 for 8 × 8); the window is applied at every position where it fits ("valid", as the paper's
 *   MATLAB code), variances are the window-weighted (biased) ones; C₁ = (0.01 L)², C₂ = (0.03 L)². SSIM of
 *   an image is the mean of the SSIM map over positions and channels; the batch figure is the mean over
 *   images.
 *
 * Private to lib/metrics; import from `mod.ts`.
 *
 * @module
 */
import type { NDArray } from "../array.ts";

/** Options of {@link psnr} and {@link ssim}. */
export interface ImageQualityOptions {
  /** Data range L: max − min of a pixel (default 2, for images in [−1, 1]). */
  dataRange?: number;
}

function imageDims(x: NDArray, reference: NDArray, what: string) {
  if (x.shape.length !== 4) {
    throw new Error(`${what}: images must be [N, H, W, C], got [${x.shape}]`);
  }
  if (x.shape.join(",") !== reference.shape.join(",")) {
    throw new Error(`${what}: images [${x.shape}] and reference [${reference.shape}] differ in shape`);
  }
  const [n, h, w, c] = x.shape;
  return { n, h, w, c };
}

/**
 * Per-image PSNR (dB) of `x` against `reference`, both `[N, H, W, C]`.
 *
 * @example
 * ```ts
 * const values = psnr(samples, truth); // Float64Array [N]; mean them for the batch figure
 * ```
 */
export function psnr(x: NDArray, reference: NDArray, opts: ImageQualityOptions = {}): Float64Array {
  const { n, h, w, c } = imageDims(x, reference, "psnr");
  const range = opts.dataRange ?? 2, d = h * w * c;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let j = i * d; j < (i + 1) * d; j++) sq += (x.data[j] - reference.data[j]) ** 2;
    out[i] = 10 * Math.log10((range * range) / (sq / d));
  }
  return out;
}

/**
 * The SSIM window size for images of `height × width`: 11, or the largest odd size that fits.
 *
 * @example
 * ```ts
 * ssimWindowSize(28, 28); // 11
 * ssimWindowSize(8, 8);   // 7
 * ```
 */
export function ssimWindowSize(height: number, width: number): number {
  const fit = Math.min(11, height, width);
  return fit % 2 === 1 ? fit : fit - 1;
}

/** The normalised 1-D Gaussian of σ = 1.5 on `size` taps (the 2-D window is its outer product). */
function gaussianTaps(size: number, sigma = 1.5): Float64Array {
  const taps = new Float64Array(size), r = (size - 1) / 2;
  let sum = 0;
  for (let k = 0; k < size; k++) sum += taps[k] = Math.exp(-((k - r) ** 2) / (2 * sigma * sigma));
  for (let k = 0; k < size; k++) taps[k] /= sum;
  return taps;
}

/** The window-weighted mean of `plane` (h × w) at every valid position: separable, rows then columns. */
function filterValid(plane: Float64Array, h: number, w: number, taps: Float64Array): Float64Array {
  const s = taps.length, oh = h - s + 1, ow = w - s + 1;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += taps[k] * plane[y * w + x + k];
      rows[y * ow + x] = acc;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += taps[k] * rows[(y + k) * ow + x];
      out[y * ow + x] = acc;
    }
  }
  return out;
}

/**
 * Per-image SSIM of `x` against `reference`, both `[N, H, W, C]` (see the module's description for the
 * window and constants).
 *
 * @example
 * ```ts
 * const values = ssim(samples, truth); // Float64Array [N], each ≤ 1 (1 for identical images)
 * ```
 */
export function ssim(x: NDArray, reference: NDArray, opts: ImageQualityOptions = {}): Float64Array {
  const { n, h, w, c } = imageDims(x, reference, "ssim");
  const size = ssimWindowSize(h, w);
  if (size < 1) throw new Error(`ssim: images of ${h} × ${w} pixels are too small`);
  const taps = gaussianTaps(size);
  const range = opts.dataRange ?? 2;
  const c1 = (0.01 * range) ** 2, c2 = (0.03 * range) ** 2;
  const plane = (a: NDArray, i: number, ch: number) => {
    const p = new Float64Array(h * w);
    for (let k = 0; k < h * w; k++) p[k] = a.data[(i * h * w + k) * c + ch];
    return p;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let total = 0, count = 0;
    for (let ch = 0; ch < c; ch++) {
      const a = plane(x, i, ch), b = plane(reference, i, ch);
      const muA = filterValid(a, h, w, taps), muB = filterValid(b, h, w, taps);
      const aa = filterValid(a.map((v) => v * v), h, w, taps);
      const bb = filterValid(b.map((v) => v * v), h, w, taps);
      const ab = filterValid(a.map((v, k) => v * b[k]), h, w, taps);
      for (let k = 0; k < muA.length; k++) {
        const ma = muA[k], mb = muB[k];
        const va = aa[k] - ma * ma, vb = bb[k] - mb * mb, cov = ab[k] - ma * mb;
        total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
    out[i] = total / count;
  }
  return out;
}
