/**
 * A small RGBA raster to draw plots on: alpha blending, anti-aliased lines and discs, rectangles,
 * markers, and text in the bitmap font of font.ts. Coordinates are in pixels, x to the right,
 * y down; pixel (i, j) covers [i, i+1) × [j, j+1), so a 1-pixel line at y = j + 0.5 is crisp.
 *
 * ```ts
 * const c = new Canvas(200, 100);
 * c.line(10, 90, 190, 10, parseColor("#1f77b4"), { width: 2 });
 * c.text("hello", 100, 50, { scale: 2, align: "center", baseline: "middle" });
 * await Deno.writeFile("hello.png", c.toPng());
 * ```
 *
 * @module
 */
import { glyph, GLYPH_ADVANCE, GLYPH_ASCENT, GLYPH_DESCENT, glyphBitmap } from "./font.ts";
import { encodePng } from "./png.ts";

/**
 * A colour: red, green, blue in 0–255 and alpha (opacity) in 0–1.
 *
 * ```ts
 * const halfRed: Color = [255, 0, 0, 0.5];
 * ```
 */
export type Color = readonly [number, number, number, number];

/**
 * Parse `#rgb`, `#rrggbb` or `#rrggbbaa` into a {@link Color}, with optional opacity override.
 *
 * ```ts
 * parseColor("#1f77b4", 0.3); // [31, 119, 180, 0.3]
 * ```
 */
export function parseColor(hex: string, alpha?: number): Color {
  const m = hex.trim().replace(/^#/, "");
  const full = m.length === 3 ? [...m].map((c) => c + c).join("") : m;
  if (!/^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(full)) throw new Error(`bad colour "${hex}"`);
  const v = (i: number) => parseInt(full.slice(i, i + 2), 16);
  return [v(0), v(2), v(4), alpha ?? (full.length === 8 ? v(6) / 255 : 1)];
}

/**
 * The same colour with another opacity.
 *
 * ```ts
 * withAlpha(BLACK, 0.2); // [0, 0, 0, 0.2]
 * ```
 */
export function withAlpha(c: Color, alpha: number): Color {
  return [c[0], c[1], c[2], alpha];
}

/**
 * Mix a colour towards white (`amount` > 0) or black (`amount` < 0), for lighter fills and darker
 * outlines of one series colour.
 *
 * ```ts
 * shade(parseColor("#1f77b4"), 0.6); // a pale blue
 * ```
 */
export function shade(c: Color, amount: number): Color {
  const target = amount >= 0 ? 255 : 0, t = Math.abs(amount);
  return [c[0] + (target - c[0]) * t, c[1] + (target - c[1]) * t, c[2] + (target - c[2]) * t, c[3]];
}

/** Opaque white. `new Canvas(w, h, WHITE)` */
export const WHITE: Color = [255, 255, 255, 1];
/** Opaque black. `c.text("x", 0, 0, { color: BLACK })` */
export const BLACK: Color = [0, 0, 0, 1];
/** Fully transparent. `new Canvas(w, h, TRANSPARENT)` */
export const TRANSPARENT: Color = [0, 0, 0, 0];

/**
 * A categorical palette (Tableau 10, as in matplotlib): distinguishable, print- and
 * colour-blind-friendlier than saturated primaries.
 *
 * ```ts
 * const colorOfSeries = (i: number) => parseColor(PALETTE[i % PALETTE.length]);
 * ```
 */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
];

/**
 * An axis-aligned rectangle in pixels.
 *
 * ```ts
 * const r: Rect = { x: 60, y: 20, width: 400, height: 300 };
 * ```
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Options of {@link Canvas.line} and {@link Canvas.polyline}.
 *
 * ```ts
 * c.line(0, 0, 100, 0, BLACK, { width: 2, dash: [8, 5] });
 * ```
 */
export interface LineOptions {
  /** Stroke width in pixels (default 1). */
  width?: number;
  /** Dash pattern: lengths of ink and gap, in pixels, repeated. */
  dash?: readonly number[];
}

/** Marker shapes, so that series stay distinguishable without colour. `c.marker(x, y, "square", 8, red)` */
export type MarkerShape = "circle" | "square" | "diamond" | "triangle";

/**
 * Options of {@link Canvas.text}.
 *
 * ```ts
 * c.text("y label", 12, 200, { rotate: true, align: "center", baseline: "top" });
 * ```
 */
export interface TextOptions {
  color?: Color;
  /** Integer scale of the 5×7 font (default 1): 2 for tick labels, 3 for titles. */
  scale?: number;
  /** Which end of the text `x` is (default left); with `rotate`, along the rotated text. */
  align?: "left" | "center" | "right";
  /** Which line of the text `y` is: top of capitals, their middle, the baseline, or the bottom of descenders. */
  baseline?: "top" | "middle" | "alphabetic" | "bottom";
  /** Draw reading upwards (rotated 90° counter-clockwise), for y-axis labels. */
  rotate?: boolean;
  /** Embolden by drawing twice, one pixel apart. */
  bold?: boolean;
}

/**
 * An RGBA raster with blending drawing operations.
 *
 * ```ts
 * const c = new Canvas(64, 64);
 * c.disc(32, 32, 10, parseColor("#d62728", 0.5));
 * const png = c.toPng();
 * ```
 */
export class Canvas {
  /** RGBA bytes, row-major, 4 per pixel. */
  readonly pixels: Uint8ClampedArray;
  /** Where drawing is allowed; null for the whole canvas. */
  clip: Rect | null = null;

  constructor(readonly width: number, readonly height: number, background: Color = WHITE) {
    if (!(width > 0 && height > 0)) throw new Error(`Canvas: bad size ${width}×${height}`);
    this.width = Math.round(width);
    this.height = Math.round(height);
    this.pixels = new Uint8ClampedArray(this.width * this.height * 4);
    if (background[3] > 0) this.fillRect(0, 0, this.width, this.height, background);
  }

  /**
   * Blend `color` over pixel (x, y) with `coverage` (0–1) of it covered; outside the canvas or the clip, nothing.
   *
   * ```ts
   * c.blendPixel(3, 4, BLACK, 0.5); // mid grey on white
   * ```
   */
  blendPixel(x: number, y: number, color: Color, coverage = 1): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const clip = this.clip;
    if (clip && (x < clip.x || y < clip.y || x >= clip.x + clip.width || y >= clip.y + clip.height)) return;
    const a = color[3] * coverage;
    if (a <= 0) return;
    const p = this.pixels, o = (y * this.width + x) * 4;
    const da = p[o + 3] / 255;
    // Porter–Duff "source over", on straight (non-premultiplied) colours.
    const oa = a + da * (1 - a);
    const k = da * (1 - a);
    p[o] = (color[0] * a + p[o] * k) / oa;
    p[o + 1] = (color[1] * a + p[o + 1] * k) / oa;
    p[o + 2] = (color[2] * a + p[o + 2] * k) / oa;
    p[o + 3] = oa * 255;
  }

  /**
   * The RGBA of pixel (x, y).
   *
   * ```ts
   * c.getPixel(0, 0); // [255, 255, 255, 255] on a fresh canvas
   * ```
   */
  getPixel(x: number, y: number): [number, number, number, number] {
    const o = (y * this.width + x) * 4, p = this.pixels;
    return [p[o], p[o + 1], p[o + 2], p[o + 3]];
  }

  /**
   * Fill a rectangle, with anti-aliased edges where it does not sit on pixel boundaries.
   *
   * ```ts
   * c.fillRect(10, 10, 50, 20, parseColor("#eeeeee"));
   * ```
   */
  fillRect(x: number, y: number, width: number, height: number, color: Color): void {
    const x0 = Math.max(0, Math.floor(x)), x1 = Math.min(this.width, Math.ceil(x + width));
    const y0 = Math.max(0, Math.floor(y)), y1 = Math.min(this.height, Math.ceil(y + height));
    for (let j = y0; j < y1; j++) {
      const cy = Math.min(j + 1, y + height) - Math.max(j, y);
      for (let i = x0; i < x1; i++) {
        const cx = Math.min(i + 1, x + width) - Math.max(i, x);
        this.blendPixel(i, j, color, Math.max(0, Math.min(1, cx)) * Math.max(0, Math.min(1, cy)));
      }
    }
  }

  /**
   * Outline a rectangle with lines of `lineWidth` inside its bounds.
   *
   * ```ts
   * c.strokeRect(60, 20, 400, 300, BLACK);
   * ```
   */
  strokeRect(x: number, y: number, width: number, height: number, color: Color, lineWidth = 1): void {
    const w = lineWidth;
    this.fillRect(x, y, width, w, color);
    this.fillRect(x, y + height - w, width, w, color);
    this.fillRect(x, y + w, w, height - 2 * w, color);
    this.fillRect(x + width - w, y + w, w, height - 2 * w, color);
  }

  /**
   * A straight line from (x0, y0) to (x1, y1), anti-aliased, optionally dashed.
   *
   * ```ts
   * c.line(0, 50.5, 200, 50.5, parseColor("#999999"), { dash: [6, 4] });
   * ```
   */
  line(x0: number, y0: number, x1: number, y1: number, color: Color, opts: LineOptions = {}): void {
    this.polyline([[x0, y0], [x1, y1]], color, opts);
  }

  /**
   * Connected line segments through `points`; a dash pattern continues across corners.
   * Each pixel is painted once per polyline (by its largest coverage), so translucent
   * lines do not darken at the joints.
   *
   * ```ts
   * c.polyline([[0, 0], [50, 20], [100, 10]], parseColor("#ff7f0e"), { width: 2 });
   * ```
   */
  polyline(points: readonly (readonly [number, number])[], color: Color, opts: LineOptions = {}): void {
    const half = (opts.width ?? 1) / 2;
    const segments: [number, number, number, number][] = [];
    const dash = opts.dash && opts.dash.length >= 2 && opts.dash.some((d) => d > 0) ? opts.dash : null;
    let dashIndex = 0, dashLeft = dash ? dash[0] : Infinity;
    for (let k = 0; k + 1 < points.length; k++) {
      const [ax, ay] = points[k], [bx, by] = points[k + 1];
      const len = Math.hypot(bx - ax, by - ay);
      if (!dash) {
        segments.push([ax, ay, bx, by]);
        continue;
      }
      let t = 0;
      while (t < len) {
        const step = Math.min(dashLeft, len - t);
        if (dashIndex % 2 === 0) {
          const s0 = t / len, s1 = (t + step) / len;
          segments.push([ax + (bx - ax) * s0, ay + (by - ay) * s0, ax + (bx - ax) * s1, ay + (by - ay) * s1]);
        }
        t += step;
        dashLeft -= step;
        if (dashLeft <= 1e-9) dashIndex = (dashIndex + 1) % dash.length, dashLeft = dash[dashIndex];
      }
    }
    if (!segments.length) return;
    // Coverage per pixel, maximised over segments, then blended once.
    const coverage = new Map<number, number>();
    for (const [ax, ay, bx, by] of segments) {
      const minX = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1)),
        maxX = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + half + 1));
      const minY = Math.max(0, Math.floor(Math.min(ay, by) - half - 1)),
        maxY = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + half + 1));
      const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
      const steep = Math.abs(dy) > Math.abs(dx);
      // Walk along the major axis and look at a window across it: the segment's pixels only.
      const across = half + 1.5;
      const [lo, hi] = steep ? [minY, maxY] : [minX, maxX];
      for (let m = lo; m <= hi; m++) {
        const c = m + 0.5;
        // Position across at this major coordinate (clamped to the segment's ends).
        let t = steep ? (dy !== 0 ? (c - ay) / dy : 0) : (dx !== 0 ? (c - ax) / dx : 0);
        t = Math.max(0, Math.min(1, t));
        const mid = steep ? ax + dx * t : ay + dy * t;
        const span = steep
          ? across * Math.hypot(dx, dy) / Math.max(Math.abs(dy), 1e-9)
          : across * Math.hypot(dx, dy) / Math.max(Math.abs(dx), 1e-9);
        const from = Math.floor(mid - Math.min(span, 1e4)), to = Math.ceil(mid + Math.min(span, 1e4));
        for (let n = from; n <= to; n++) {
          const px = steep ? n : m, py = steep ? m : n;
          if (px < minX || px > maxX || py < minY || py > maxY) continue;
          const cx = px + 0.5, cy = py + 0.5;
          let u = len2 > 0 ? ((cx - ax) * dx + (cy - ay) * dy) / len2 : 0;
          u = Math.max(0, Math.min(1, u));
          const d = Math.hypot(cx - (ax + u * dx), cy - (ay + u * dy));
          const cov = Math.max(0, Math.min(1, half + 0.5 - d));
          if (cov <= 0) continue;
          const key = py * this.width + px;
          if ((coverage.get(key) ?? 0) < cov) coverage.set(key, cov);
        }
      }
    }
    for (const [key, cov] of coverage) {
      this.blendPixel(key % this.width, Math.floor(key / this.width), color, cov);
    }
  }

  /**
   * A filled disc of radius `r` centred at (cx, cy), anti-aliased.
   *
   * ```ts
   * c.disc(100, 100, 1.5, parseColor("#1f77b4", 0.3)); // one scatter point
   * ```
   */
  disc(cx: number, cy: number, r: number, color: Color): void {
    const x0 = Math.floor(cx - r - 1), x1 = Math.ceil(cx + r + 1);
    const y0 = Math.floor(cy - r - 1), y1 = Math.ceil(cy + r + 1);
    for (let j = y0; j <= y1; j++) {
      for (let i = x0; i <= x1; i++) {
        const d = Math.hypot(i + 0.5 - cx, j + 0.5 - cy);
        const cov = Math.max(0, Math.min(1, r + 0.5 - d));
        // Discs smaller than a pixel: keep their area rather than let them vanish.
        if (cov > 0) this.blendPixel(i, j, color, r < 0.5 ? cov * (r * 2) : cov);
      }
    }
  }

  /**
   * A marker of `size` pixels across, centred at (cx, cy), filled with `color`, with an optional
   * outline (a white one separates markers from the line through them).
   *
   * ```ts
   * c.marker(120, 80, "diamond", 9, parseColor("#2ca02c"), WHITE);
   * ```
   */
  marker(cx: number, cy: number, shape: MarkerShape, size: number, color: Color, outline?: Color): void {
    const r = size / 2;
    if (outline) this.marker(cx, cy, shape, size + 3, outline);
    if (shape === "circle") return this.disc(cx, cy, r, color);
    if (shape === "square") return this.fillRect(cx - r * 0.85, cy - r * 0.85, r * 1.7, r * 1.7, color);
    // Polygons by point-in-polygon with 4×4 supersampling for smooth edges.
    const poly: [number, number][] = shape === "diamond"
      ? [[cx, cy - r * 1.15], [cx + r * 1.15, cy], [cx, cy + r * 1.15], [cx - r * 1.15, cy]]
      : [[cx, cy - r * 1.2], [cx + r * 1.1, cy + r * 0.8], [cx - r * 1.1, cy + r * 0.8]];
    this.fillPolygon(poly, color);
  }

  /**
   * Fill a simple polygon (even–odd rule), anti-aliased by 4×4 supersampling.
   *
   * ```ts
   * c.fillPolygon([[0, 0], [10, 0], [5, 8]], BLACK);
   * ```
   */
  fillPolygon(points: readonly (readonly [number, number])[], color: Color): void {
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.floor(Math.min(...xs)), x1 = Math.ceil(Math.max(...xs));
    const y0 = Math.floor(Math.min(...ys)), y1 = Math.ceil(Math.max(...ys));
    const inside = (x: number, y: number) => {
      let c = false;
      for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
        const [xi, yi] = points[i], [xj, yj] = points[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
      }
      return c;
    };
    for (let j = y0; j < y1; j++) {
      for (let i = x0; i < x1; i++) {
        let hits = 0;
        for (let sy = 0; sy < 4; sy++) {
          for (let sx = 0; sx < 4; sx++) if (inside(i + (sx + 0.5) / 4, j + (sy + 0.5) / 4)) hits++;
        }
        if (hits) this.blendPixel(i, j, color, hits / 16);
      }
    }
  }

  /**
   * Width and height in pixels of `text` at `scale` (height: capitals plus descenders).
   *
   * ```ts
   * measureText("0.25", 2).width; // 46
   * ```
   */
  static measureText(text: string, scale = 1): { width: number; height: number } {
    const n = [...text].length;
    return { width: n ? (n * GLYPH_ADVANCE - 1) * scale : 0, height: (GLYPH_ASCENT + GLYPH_DESCENT) * scale };
  }

  /**
   * Draw `text` with its anchor at (x, y); returns its width in pixels.
   *
   * ```ts
   * c.text("Sinkhorn divergence", 60, 12, { scale: 3, bold: true });
   * ```
   */
  text(text: string, x: number, y: number, opts: TextOptions = {}): number {
    const scale = Math.max(1, Math.round(opts.scale ?? 1));
    const color = opts.color ?? BLACK;
    const chars = [...text];
    const { width } = Canvas.measureText(text, scale);
    const along = opts.align === "center" ? -width / 2 : opts.align === "right" ? -width : 0;
    const baseline = opts.baseline ?? "top";
    const top = baseline === "top"
      ? 0
      : baseline === "middle"
      ? -(GLYPH_ASCENT * scale) / 2
      : baseline === "alphabetic"
      ? -GLYPH_ASCENT * scale
      : -(GLYPH_ASCENT + GLYPH_DESCENT) * scale;
    const ox = Math.round(x), oy = Math.round(y);
    const alongStart = Math.round(along), acrossStart = Math.round(top);
    for (let k = 0; k < chars.length; k++) {
      const bmp = glyphBitmap(glyph(chars[k]), scale);
      const base = alongStart + k * GLYPH_ADVANCE * scale;
      for (let r = 0; r < bmp.height; r++) {
        for (let col = 0; col < bmp.width; col++) {
          if (!bmp.bits[r * bmp.width + col]) continue;
          for (let b = 0; b < (opts.bold ? 2 : 1); b++) {
            // Unrotated: along = +x, across = +y. Rotated 90° counter-clockwise: along = −y, across = +x.
            const a = base + col + b, d = acrossStart + r;
            if (opts.rotate) this.blendPixel(ox + d, oy - a - 1, color);
            else this.blendPixel(ox + a, oy + d, color);
          }
        }
      }
    }
    return width + (opts.bold ? 1 : 0);
  }

  /**
   * Copy another canvas onto this one with its top-left at (x, y), blending by its alpha.
   *
   * ```ts
   * page.drawCanvas(panel, 0, 40);
   * ```
   */
  drawCanvas(src: Canvas, x: number, y: number): void {
    const ox = Math.round(x), oy = Math.round(y);
    for (let j = 0; j < src.height; j++) {
      for (let i = 0; i < src.width; i++) {
        const o = (j * src.width + i) * 4, p = src.pixels;
        if (p[o + 3]) this.blendPixel(ox + i, oy + j, [p[o], p[o + 1], p[o + 2], p[o + 3] / 255]);
      }
    }
  }

  /**
   * Run `draw` with drawing restricted to `rect` (intersected with any clip already set).
   *
   * ```ts
   * c.withClip(plotRect, () => c.polyline(points, blue));
   * ```
   */
  withClip<T>(rect: Rect, draw: () => T): T {
    const saved = this.clip;
    const x0 = Math.max(rect.x, saved?.x ?? -Infinity), y0 = Math.max(rect.y, saved?.y ?? -Infinity);
    const x1 = Math.min(rect.x + rect.width, saved ? saved.x + saved.width : Infinity);
    const y1 = Math.min(rect.y + rect.height, saved ? saved.y + saved.height : Infinity);
    this.clip = { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
    try {
      return draw();
    } finally {
      this.clip = saved;
    }
  }

  /**
   * Encode as an RGBA PNG file.
   *
   * ```ts
   * await Deno.writeFile("plot.png", c.toPng());
   * ```
   */
  toPng(): Uint8Array {
    return encodePng({ width: this.width, height: this.height, channels: 4, data: this.pixels });
  }
}
