/**
 * A small RGBA raster to draw plots on: alpha blending, anti-aliased lines and discs, rectangles,
 * markers, and text in the bitmap font of _font.ts. Coordinates are in pixels, x to the right,
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
import { glyph, GLYPH_ADVANCE, GLYPH_ASCENT, GLYPH_DESCENT, glyphBitmap } from "./_font.ts";
import { BLACK, type Color, WHITE } from "./_color.ts";
import { encodePng } from "./_png.ts";
import { addSegmentCoverage, dashSegments } from "./_stroke.ts";

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
    const segments = dashSegments(points, opts.dash);
    if (!segments.length) return;
    // Coverage per pixel, maximised over segments, then blended once.
    const coverage = new Map<number, number>();
    for (const s of segments) addSegmentCoverage(coverage, s, half, this.width, this.height);
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
