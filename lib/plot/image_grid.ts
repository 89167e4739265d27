/**
 * Grids of image samples: `[N, H, W]` or `[N, H, W, C]` (C = 1 grey, C = 3 RGB; channels last),
 * enlarged by an integer zoom without smoothing so that pixels stay pixels, with optional row
 * labels (one method per row, say) and a title.
 *
 * ```ts
 * const fig = imageGrid({ images: samples, columns: 8, rowLabels: ["truth", "lap 0", "lap 5"], range: [0, 1] });
 * await Deno.writeFile("samples.png", fig.toPng());
 * ```
 *
 * @module
 */
import { AXIS_COLOR, formatNumber } from "./_axes.ts";
import { Canvas } from "./_canvas.ts";
import { BLACK, type Color, toColor, WHITE } from "./_color.ts";
import type { PointMatrix } from "./_points.ts";

/**
 * Options of {@link imageGrid}.
 *
 * ```ts
 * imageGrid({ images: { shape: [16, 28, 28], data }, columns: 8, zoom: 2 });
 * ```
 */
export interface ImageGridOptions {
  /** `[N, H, W]` or `[N, H, W, C]` with C = 1 or 3, row-major. */
  images: PointMatrix;
  /** Images per row (default: 8, or fewer when there are fewer images). */
  columns?: number;
  /** Labels written left of each row. */
  rowLabels?: readonly string[];
  /** Integer enlargement (default: the smallest that makes an image at least 56 pixels tall). */
  zoom?: number;
  /** Value mapped to black and value mapped to white; default the data's min and max. */
  range?: readonly [number, number];
  /** Pixels between images (default 4). */
  gap?: number;
  title?: string;
  /** Colour around and between the images. */
  background?: string | Color;
}

/**
 * Draw an image grid; returns the canvas.
 *
 * ```ts
 * const png = imageGrid({ images: { shape: [4, 8, 8, 3], data: rgb } }).toPng();
 * ```
 */
export function imageGrid(opts: ImageGridOptions): Canvas {
  const { n, h, w, c } = imageShape(opts.images);
  const [lo, hi] = opts.range ?? valueRange(opts.images.data);
  const columns = Math.max(1, Math.min(n || 1, opts.columns ?? 8));
  const rows = Math.max(1, Math.ceil(n / columns));
  const zoom = Math.max(1, Math.round(opts.zoom ?? Math.ceil(56 / h)));
  const gap = opts.gap ?? 4;
  const ts = 2;
  const labelW = opts.rowLabels?.length
    ? Math.max(...opts.rowLabels.map((l) => Canvas.measureText(l, ts).width)) + 16
    : 0;
  const titleH = opts.title ? 7 * (ts + 1) + 16 : 0;
  const footH = 9 * ts + 10;
  const margin = 12;
  const width = margin * 2 + labelW + columns * w * zoom + (columns - 1) * gap;
  const height = margin + titleH + rows * h * zoom + (rows - 1) * gap + 8 + footH;
  const canvas = new Canvas(width, height, toColor(opts.background, WHITE));
  if (opts.title) canvas.text(opts.title, margin, margin, { scale: ts + 1, bold: true, color: BLACK });
  const top = margin + titleH;
  for (let k = 0; k < n; k++) {
    const r = Math.floor(k / columns), col = k % columns;
    const x0 = margin + labelW + col * (w * zoom + gap), y0 = top + r * (h * zoom + gap);
    paintImage(canvas, opts.images.data, { k, h, w, c }, x0, y0, zoom, [lo, hi]);
  }
  opts.rowLabels?.forEach((label, r) => {
    if (r < rows) {
      canvas.text(label, margin + labelW - 16, top + r * (h * zoom + gap) + (h * zoom) / 2, {
        scale: ts,
        align: "right",
        baseline: "middle",
      });
    }
  });
  canvas.text(
    `${n} image${n === 1 ? "" : "s"} ${h}×${w}${c === 3 ? "×3" : ""}, values ${
      formatNumber(lo, 3)
    } (black) to ${formatNumber(hi, 3)} (white)`,
    margin,
    height - footH + 2,
    { scale: ts, color: AXIS_COLOR },
  );
  return canvas;
}

/** Count, height, width and channels of `[N, H, W]` or `[N, H, W, C]` images; throws on anything else. */
function imageShape(images: PointMatrix): { n: number; h: number; w: number; c: number } {
  const shape = images.shape;
  if (shape.length !== 3 && shape.length !== 4) {
    throw new Error(`imageGrid: images must be [N, H, W] or [N, H, W, C], got [${shape.join(", ")}]`);
  }
  const [n, h, w] = shape;
  const c = shape.length === 4 ? shape[3] : 1;
  if (c !== 1 && c !== 3) {
    throw new Error(`imageGrid: ${c} channels; expected 1 (grey) or 3 (RGB), channels last`);
  }
  if (images.data.length !== n * h * w * c) {
    throw new Error(`imageGrid: ${images.data.length} values for shape [${shape.join(", ")}]`);
  }
  return { n, h, w, c };
}

/** The finite values' min and max, widened to a range of 1 when they are equal (or absent). */
function valueRange(data: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) lo = Math.min(lo, v), hi = Math.max(hi, v);
  }
  if (!(hi > lo)) lo = Number.isFinite(lo) ? lo - 0.5 : 0, hi = lo + 1;
  return [lo, hi];
}

/** Image `k` enlarged `zoom` times with its top-left at (x0, y0), `lo` black and `hi` white. */
function paintImage(
  canvas: Canvas,
  data: ArrayLike<number>,
  { k, h, w, c }: { k: number; h: number; w: number; c: number },
  x0: number,
  y0: number,
  zoom: number,
  [lo, hi]: readonly [number, number],
): void {
  const scale = 255 / (hi - lo);
  const px = canvas.pixels, width = canvas.width;
  for (let y = 0; y < h * zoom; y++) {
    const sy = Math.floor(y / zoom);
    for (let x = 0; x < w * zoom; x++) {
      const sx = Math.floor(x / zoom),
        src = ((k * h + sy) * w + sx) * c,
        o = ((y0 + y) * width + x0 + x) * 4;
      for (let ch = 0; ch < 3; ch++) {
        const v = data[src + (c === 3 ? ch : 0)];
        // Non-finite values show as magenta: a bug should be visible, not hidden as black.
        px[o + ch] = Number.isFinite(v) ? (v - lo) * scale : ch === 1 ? 0 : 255;
      }
      px[o + 3] = 255;
    }
  }
}
