/**
 * Axes: "nice" tick positions (Heckbert's nice numbers), tick labels, linear and logarithmic
 * scales, and a plot area that maps data to pixels and draws its frame, grid, ticks and labels.
 *
 * ```ts
 * const area = new PlotArea({ x: 70, y: 20, width: 500, height: 300 }, { min: 0, max: 10 }, { min: 1e-3, max: 1, log: true });
 * drawAxes(canvas, area, { xLabel: "EM lap", yLabel: "Sinkhorn" });
 * canvas.disc(area.px(3), area.py(0.01), 3, BLACK);
 * ```
 *
 * @module
 */
import type { Canvas, Rect } from "./_canvas.ts";
import { BLACK, type Color, parseColor } from "./_color.ts";

/**
 * The "nice" number (1, 2, 5 or 10 times a power of ten) closest to `x` (`round`) or at least `x`.
 *
 * ```ts
 * niceNumber(0.37, true); // 0.5
 * niceNumber(37, false);  // 50
 * ```
 */
export function niceNumber(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
  return nf * 10 ** exp;
}

/**
 * Ticks of a linear axis.
 *
 * ```ts
 * const t: Ticks = niceTicks(0, 1); // { min: 0, max: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] }
 * ```
 */
export interface Ticks {
  /** The nice range that covers the data: ticks[0] ≤ data min, ticks[-1] ≥ data max. */
  min: number;
  max: number;
  /** Spacing of the ticks. */
  step: number;
  /** Tick positions, from `min` to `max`. */
  values: number[];
}

/**
 * About `target` nicely spaced ticks covering [lo, hi]; a degenerate range is widened first.
 * Values are rounded to the step's precision, so that 0.1 + 0.2 shows as 0.3.
 *
 * ```ts
 * niceTicks(-3, 3).values;         // [-4, -2, 0, 2, 4]
 * niceTicks(0.013, 0.087, 4).values; // [0, 0.05, 0.1]
 * ```
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = 0, hi = 1;
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const range = niceNumber(hi - lo, false);
  const step = niceNumber(range / Math.max(1, target - 1), true);
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const min = Math.floor(lo / step + 1e-9) * step, max = Math.ceil(hi / step - 1e-9) * step;
  const values: number[] = [];
  for (let k = 0; min + k * step <= max + step * 1e-6; k++) {
    values.push(Number((min + k * step).toFixed(digits)));
  }
  return { min: Number(min.toFixed(digits)), max: Number(max.toFixed(digits)), step, values };
}

/**
 * Ticks of a logarithmic axis over [lo, hi] (both > 0): powers of ten, with 2× and 5× added when
 * the range spans few decades, thinned to every k-th decade when it spans many.
 *
 * ```ts
 * logTicks(0.003, 0.4); // [0.005, 0.01, 0.02, 0.05, 0.1, 0.2] — within the range
 * logTicks(1e-6, 1);    // [1e-6, 1e-5, …, 1]
 * ```
 */
export function logTicks(lo: number, hi: number, target = 6): number[] {
  if (!(lo > 0) || !(hi > 0)) throw new Error(`logTicks: range [${lo}, ${hi}] must be positive`);
  if (hi < lo) [lo, hi] = [hi, lo];
  const e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const decades = e1 - e0;
  const inRange = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const clean = (v: number) => Number(v.toPrecision(6));
  for (const mantissas of decades <= 3 ? [[1, 2, 5], [1]] : [[1]]) {
    const values: number[] = [];
    for (let e = e0; e <= e1; e++) {
      for (const m of mantissas) if (inRange(m * 10 ** e)) values.push(clean(m * 10 ** e));
    }
    if (values.length >= 2 && values.length <= target * 1.5) return values;
    if (values.length > target * 1.5) continue;
  }
  const every = Math.max(1, Math.ceil(decades / target));
  const values: number[] = [];
  for (let e = e0; e <= e1; e++) if (e % every === 0 && inRange(10 ** e)) values.push(clean(10 ** e));
  // Less than a decade with no 1-2-5 values inside: fall back to linear ticks of the range.
  return values.length >= 2 ? values : niceTicks(lo, hi, 4).values.filter((v) => v > 0 && inRange(v));
}

/**
 * A formatter for the labels of one axis's ticks, consistent along the axis: as many decimals as
 * the tick spacing needs, exponent notation when the ticks are very large or finely spaced, powers
 * of ten as `1e−5` on log axes, and a true minus sign.
 *
 * ```ts
 * const f = tickFormatter([0, 0.25, 0.5]);
 * f(0.25); // "0.25"
 * f(0);    // "0.00"
 * ```
 */
export function tickFormatter(ticks: readonly number[], log = false): (v: number) => string {
  const minus = (s: string) => (/^-0(\.0*)?$/.test(s) ? s.slice(1) : s).replace(/-/g, "−");
  if (log) {
    return (v) => {
      const e = Math.log10(v);
      if (Math.abs(e - Math.round(e)) < 1e-9 && (e < -3 || e > 4)) return minus(`1e${Math.round(e)}`);
      return minus(String(Number(v.toPrecision(3))));
    };
  }
  const diffs = ticks.slice(1).map((v, i) => Math.abs(v - ticks[i])).filter((d) => d > 0);
  if (!diffs.length) return (v) => formatNumber(v);
  const step = Math.min(...diffs), maxAbs = Math.max(...ticks.map(Math.abs));
  if (maxAbs >= 1e5 || step < 1e-4) {
    const digits = Math.max(
      0,
      Math.min(3, Math.floor(Math.log10(maxAbs)) - Math.floor(Math.log10(step) + 1e-9)),
    );
    return (v) => {
      if (v === 0) return "0";
      const [m, e] = v.toExponential(digits).split("e");
      return minus(`${m}e${Number(e)}`);
    };
  }
  let digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  // Steps such as 0.25 need one more decimal than their magnitude says.
  while (digits < 10 && Math.abs(step * 10 ** digits - Math.round(step * 10 ** digits)) > 1e-6) digits++;
  return (v) => minus(v.toFixed(digits));
}

/**
 * One tick label, for a tick `v` on an axis whose ticks are `step` apart (see {@link tickFormatter}).
 *
 * ```ts
 * formatTick(0.30000000000000004, 0.1); // "0.3"
 * formatTick(-2, 1);                     // "−2"
 * formatTick(0.00001, 0.00001);          // "1e−5"
 * ```
 */
export function formatTick(v: number, step: number): string {
  return tickFormatter([v, v + step])(v);
}

/**
 * A compact number for tables and legends: 4 significant digits, exponent notation outside
 * [1e-3, 1e5).
 *
 * ```ts
 * formatNumber(0.0123456); // "0.01235"
 * formatNumber(-2.5e-6);   // "−2.5e−6"
 * ```
 */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const abs = Math.abs(v);
  let s: string;
  if (abs >= 1e5 || abs < 1e-3) {
    const [m, e] = v.toExponential(digits - 1).split("e");
    s = `${m.replace(/\.?0+$/, "")}e${Number(e)}`;
  } else {
    s = String(Number(v.toPrecision(digits)));
  }
  return s.replace(/-/g, "−");
}

/**
 * A data range along one axis, linear or logarithmic.
 *
 * ```ts
 * const y: Scale = { min: 1e-4, max: 1, log: true };
 * ```
 */
export interface Scale {
  min: number;
  max: number;
  log?: boolean;
}

/**
 * A rectangle of the canvas that shows data ranges `x` × `y`: maps data to pixel coordinates.
 *
 * ```ts
 * const area = new PlotArea({ x: 50, y: 10, width: 200, height: 200 }, { min: -3, max: 3 }, { min: -3, max: 3 });
 * area.px(0); // 150: the middle
 * ```
 */
export class PlotArea {
  constructor(readonly rect: Rect, readonly x: Scale, readonly y: Scale) {}

  private static fraction(v: number, s: Scale): number {
    if (s.log) return (Math.log10(v) - Math.log10(s.min)) / (Math.log10(s.max) - Math.log10(s.min));
    return (v - s.min) / (s.max - s.min);
  }

  /** Pixel x of data value `v`. `area.px(2.5)` */
  px(v: number): number {
    return this.rect.x + PlotArea.fraction(v, this.x) * this.rect.width;
  }

  /** Pixel y of data value `v` (larger values higher up). `area.py(0.1)` */
  py(v: number): number {
    return this.rect.y + (1 - PlotArea.fraction(v, this.y)) * this.rect.height;
  }
}

/**
 * What {@link drawAxes} draws.
 *
 * ```ts
 * drawAxes(c, area, { xTicks: [0, 1, 2], yTicks: "auto", grid: true, xLabel: "lap" });
 * ```
 */
export interface AxesOptions {
  /** Tick values, or "auto" (nice ticks of the scale), or null for none. Default "auto". */
  xTicks?: number[] | "auto" | null;
  yTicks?: number[] | "auto" | null;
  /** Whether to write tick labels (ticks are drawn regardless). Default true. */
  xTickLabels?: boolean;
  yTickLabels?: boolean;
  /** Custom tick label text. */
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  xLabel?: string;
  yLabel?: string;
  /** Light grid lines at the ticks. Default true. */
  grid?: boolean;
  /** Font scale of tick labels (axis labels are the same). Default 2. */
  textScale?: number;
  /** Roughly how many ticks "auto" aims for. Default 6 along x, 5 along y. */
  xTarget?: number;
  yTarget?: number;
  frameColor?: Color;
  gridColor?: Color;
}

/** Light grey of grid lines. `drawAxes(c, area, { gridColor: GRID_COLOR })` */
export const GRID_COLOR: Color = parseColor("#e6e6e6");
/** Grey of tick labels and frames. `c.text("0", x, y, { color: AXIS_COLOR })` */
export const AXIS_COLOR: Color = parseColor("#444444");

/**
 * The ticks an axis shows by default for its scale.
 *
 * ```ts
 * autoTicks({ min: -3, max: 3 }, 5); // [-2, 0, 2]: nice ticks inside the range
 * ```
 */
export function autoTicks(s: Scale, target: number): number[] {
  if (s.log) return logTicks(s.min, s.max, target);
  const eps = (s.max - s.min) * 1e-9;
  return niceTicks(s.min, s.max, target).values.filter((v) => v >= s.min - eps && v <= s.max + eps);
}

/**
 * Draw grid, frame, ticks, tick labels and axis labels around `area`. Draw the data after this, so
 * that grid lines lie beneath it.
 *
 * ```ts
 * drawAxes(canvas, area, { xLabel: "EM lap", yLabel: "Sinkhorn divergence" });
 * ```
 */
export function drawAxes(canvas: Canvas, area: PlotArea, opts: AxesOptions = {}): void {
  const { rect } = area;
  const scale = opts.textScale ?? 2;
  const frame = opts.frameColor ?? AXIS_COLOR, gridColor = opts.gridColor ?? GRID_COLOR;
  const xTicks = opts.xTicks === null
    ? []
    : opts.xTicks === undefined || opts.xTicks === "auto"
    ? autoTicks(area.x, opts.xTarget ?? 6)
    : opts.xTicks;
  const yTicks = opts.yTicks === null
    ? []
    : opts.yTicks === undefined || opts.yTicks === "auto"
    ? autoTicks(area.y, opts.yTarget ?? 5)
    : opts.yTicks;
  const fx = opts.formatX ?? tickFormatter(xTicks, area.x.log);
  const fy = opts.formatY ?? tickFormatter(yTicks, area.y.log);
  const x0 = Math.round(rect.x),
    y0 = Math.round(rect.y),
    x1 = Math.round(rect.x + rect.width),
    y1 = Math.round(rect.y + rect.height);
  const tick = Math.max(3, scale * 2.5);
  if (opts.grid ?? true) {
    for (const v of xTicks) canvas.fillRect(Math.round(area.px(v)) - 0.5, y0, 1, y1 - y0, gridColor);
    for (const v of yTicks) canvas.fillRect(x0, Math.round(area.py(v)) - 0.5, x1 - x0, 1, gridColor);
  }
  canvas.strokeRect(x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2, frame);
  let maxYLabel = 0;
  for (const v of xTicks) {
    const p = Math.round(area.px(v));
    canvas.fillRect(p - 0.5, y1 + 1, 1, tick, frame);
    if (opts.xTickLabels ?? true) {
      canvas.text(fx(v), p, y1 + tick + 4, { scale, align: "center", color: frame });
    }
  }
  for (const v of yTicks) {
    const p = Math.round(area.py(v));
    canvas.fillRect(x0 - 1 - tick, p - 0.5, tick, 1, frame);
    if (opts.yTickLabels ?? true) {
      maxYLabel = Math.max(
        maxYLabel,
        canvas.text(fy(v), x0 - tick - 6, p, { scale, align: "right", baseline: "middle", color: frame }),
      );
    }
  }
  if (opts.xLabel) {
    const below = y1 + tick + 4 + ((opts.xTickLabels ?? true) && xTicks.length ? 9 * scale + 6 : 2);
    canvas.text(opts.xLabel, (x0 + x1) / 2, below, { scale, align: "center", color: BLACK });
  }
  if (opts.yLabel) {
    const left = x0 - tick - 6 - maxYLabel - 8 - 9 * scale;
    canvas.text(opts.yLabel, left, (y0 + y1) / 2, { scale, align: "center", rotate: true, color: BLACK });
  }
}
