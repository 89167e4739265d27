/**
 * Grids of image samples: `[N, H, W]` or `[N, H, W, C]` (C = 1 grey, C = 3 RGB; channels last),
 * enlarged by an integer zoom without smoothing so that pixels stay pixels. The mosaic is encoded
 * by fast-png; a title, row labels and the value range are set around it as SVG text and the whole
 * drawn by resvg with the figures' font.
 *
 * ```ts
 * const png = await imageGrid({ images: samples, columns: 8, rowLabels: ["truth", "lap 0"], range: [0, 1] });
 * await Deno.writeFile("samples.png", png);
 * ```
 *
 * @module
 */
import { encode } from "fast-png";
import type { PointMatrix } from "./_points.ts";
import { formatNumber } from "./_format.ts";
import { FONT_FAMILY, svgToPng } from "./_render.ts";

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

/**
 * The mosaic alone as an RGB PNG: images in rows of `columns`, `zoom`× nearest-neighbour, white gaps;
 * values outside the range clip, non-finite values are magenta.
 *
 * ```ts
 * const png = imageMosaic({ images: { shape: [4, 8, 8], data } }, 4, 2, 4, [0, 1]);
 * ```
 */
export function imageMosaic(
  opts: ImageGridOptions,
  columns: number,
  zoom: number,
  gap: number,
  [lo, hi]: readonly [number, number],
): { png: Uint8Array; width: number; height: number } {
  const { n, h, w, c } = imageShape(opts.images);
  const rows = Math.max(1, Math.ceil(n / columns));
  const width = columns * w * zoom + (columns - 1) * gap, height = rows * h * zoom + (rows - 1) * gap;
  const px = new Uint8Array(width * height * 3).fill(255);
  const scale = 255 / (hi - lo), data = opts.images.data;
  for (let k = 0; k < n; k++) {
    const x0 = (k % columns) * (w * zoom + gap), y0 = Math.floor(k / columns) * (h * zoom + gap);
    for (let y = 0; y < h * zoom; y++) {
      for (let x = 0; x < w * zoom; x++) {
        const src = ((k * h + Math.floor(y / zoom)) * w + Math.floor(x / zoom)) * c;
        const o = ((y0 + y) * width + x0 + x) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const v = data[src + (c === 3 ? ch : 0)];
          px[o + ch] = Number.isFinite(v)
            ? Math.max(0, Math.min(255, Math.round((v - lo) * scale)))
            : ch === 1
            ? 0
            : 255;
        }
      }
    }
  }
  return { png: encode({ width, height, data: px, channels: 3, depth: 8 }), width, height };
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);
}

/**
 * Draw an image grid with its title, row labels and value range; returns PNG bytes.
 *
 * ```ts
 * const png = await imageGrid({ images: { shape: [4, 8, 8, 3], data: rgb }, title: "lap 3" });
 * ```
 */
export async function imageGrid(opts: ImageGridOptions): Promise<Uint8Array> {
  const { n, h, w, c } = imageShape(opts.images);
  const range = opts.range ?? valueRange(opts.images.data);
  const columns = Math.max(1, Math.min(n || 1, opts.columns ?? 8));
  const zoom = Math.max(1, Math.round(opts.zoom ?? Math.ceil(56 / h)));
  const gap = opts.gap ?? 4;
  const mosaic = imageMosaic(opts, columns, zoom, gap, range);
  const labels = opts.rowLabels ?? [];
  const labelW = labels.length ? 12 + 8 * Math.max(...labels.map((l) => l.length)) : 0;
  const margin = 12, titleH = opts.title ? 30 : 0, footH = 26;
  const width = 2 * margin + labelW + mosaic.width, height = margin + titleH + mosaic.height + footH;
  const top = margin + titleH;
  const text = (x: number, y: number, s: string, extra = "") =>
    `<text x="${x}" y="${y}" ${extra}>${escapeXml(s)}</text>`;
  const rowLabels = labels.slice(0, Math.ceil(n / columns)).map((l, r) =>
    text(margin + labelW - 10, top + r * (h * zoom + gap) + (h * zoom) / 2 + 5, l, 'text-anchor="end"')
  );
  const foot = `${n} image${n === 1 ? "" : "s"} ${h}×${w}${c === 3 ? "×3" : ""}, values ${
    formatNumber(range[0], 3)
  } (black) to ${formatNumber(range[1], 3)} (white)`;
  const b64 = btoa(Array.from(mosaic.png, (b) => String.fromCharCode(b)).join(""));
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" font-family="${FONT_FAMILY}" font-size="13">
<rect width="100%" height="100%" fill="white"/>
${opts.title ? text(margin, margin + 18, opts.title, 'font-size="17" font-weight="bold"') : ""}
<image x="${
      margin + labelW
    }" y="${top}" width="${mosaic.width}" height="${mosaic.height}" image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,${b64}"/>
${rowLabels.join("\n")}
${text(margin, height - 9, foot, 'fill="#555"')}
</svg>`;
  return await svgToPng(svg, 1);
}
