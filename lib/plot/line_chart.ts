/**
 * Line charts of metrics over EM laps: one line with markers per series (method), optional
 * horizontal reference lines (baselines such as the Gaussian start), linear or log y, a legend.
 *
 * ```ts
 * const chart = lineChart({
 *   title: "Sinkhorn divergence",
 *   xLabel: "EM lap",
 *   series: [{ name: "DiEM", points: [[0, 0.4], [1, 0.1], [2, 0.03]] }],
 *   references: [{ name: "Gaussian", value: 0.5 }],
 *   logY: true,
 * });
 * await Deno.writeFile("sinkhorn.png", chart.toPng());
 * ```
 *
 * @module
 */
import { autoTicks, AXIS_COLOR, drawAxes, niceTicks, PlotArea, type Scale, tickFormatter } from "./_axes.ts";
import { Canvas, type MarkerShape, type Rect } from "./_canvas.ts";
import { BLACK, type Color, PALETTE, toColor, WHITE } from "./_color.ts";
import { drawHeading, headingHeight } from "./_heading.ts";

/**
 * One line of a chart.
 *
 * ```ts
 * const s: ChartSeries = { name: "em", points: [[0, 1.2], [1, 0.7]], color: "#1f77b4" };
 * ```
 */
export interface ChartSeries {
  name: string;
  /** (x, y) pairs; non-finite y values (and y ≤ 0 on a log axis) are left out. */
  points: readonly (readonly [number, number])[];
  /** `#rrggbb` or a {@link Color}; default: the palette, in order. */
  color?: string | Color;
  /** Default: circle, square, diamond, triangle in turn. */
  marker?: MarkerShape;
  dashed?: boolean;
}

/**
 * A horizontal line across the chart, drawn dashed.
 *
 * ```ts
 * const gauss: ReferenceLine = { name: "Gaussian start", value: 0.42 };
 * ```
 */
export interface ReferenceLine {
  name: string;
  value: number;
  color?: string | Color;
}

/**
 * Options of {@link lineChart}.
 *
 * ```ts
 * lineChart({ series, xLabel: "EM lap", yLabel: "Sinkhorn", integerX: true, width: 900 });
 * ```
 */
export interface LineChartOptions {
  series: readonly ChartSeries[];
  references?: readonly ReferenceLine[];
  title?: string;
  /** A smaller line under the title. */
  subtitle?: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  /** Ticks only at integers along x (laps). Default true. */
  integerX?: boolean;
  /** Size in pixels. Default 960 × 540. */
  width?: number;
  height?: number;
  /** Font scale of ticks, labels and legend. Default 2. */
  textScale?: number;
}

const MARKERS: MarkerShape[] = ["circle", "square", "diamond", "triangle"];
const DASH = [10, 6];

/**
 * Draw a line chart; returns the canvas (call `.toPng()` for the file).
 *
 * ```ts
 * const png = lineChart({ series: [{ name: "a", points: [[0, 1], [1, 2]] }] }).toPng();
 * ```
 */
export function lineChart(opts: LineChartOptions): Canvas {
  const width = opts.width ?? 960, height = opts.height ?? 540, ts = opts.textScale ?? 2;
  const canvas = new Canvas(width, height, WHITE);
  const logY = opts.logY ?? false;
  const usable = (y: number) => Number.isFinite(y) && (!logY || y > 0);
  const series = resolveSeries(opts.series, usable);
  const references = (opts.references ?? []).filter((r) => usable(r.value)).map((r, i) => ({
    ...r,
    color: toColor(r.color, PALETTE[(series.length + i) % PALETTE.length]),
  }));
  const hidden = opts.series.reduce((n, s) => n + s.points.filter(([, y]) => !usable(y)).length, 0) +
    (opts.references ?? []).filter((r) => !usable(r.value)).length;
  const xScale = xScaleOf(series);
  const yScale = yScaleOf([
    ...series.flatMap((s) => s.points.map((p) => p[1])),
    ...references.map((r) => r.value),
  ], logY);
  const xTicks = (opts.integerX ?? true) ? integerTicks(xScale) : autoTicks(xScale, 8);
  const yTicks = autoTicks(yScale, 6);
  const formatY = tickFormatter(yTicks, logY);
  const legend = [
    ...series.map((s) => ({
      name: s.name,
      color: s.color,
      marker: s.marker as MarkerShape | null,
      dashed: s.dashed,
    })),
    ...references.map((r) => ({ name: r.name, color: r.color, marker: null, dashed: true })),
  ];
  const layout = chartLayout(opts, { width, height, ts, yTicks, formatY, legend, hidden });
  const { rect } = layout;
  const area = new PlotArea(rect, xScale, yScale);

  drawHeading(canvas, layout.left, 18, opts.title, opts.subtitle, ts);
  drawAxes(canvas, area, {
    xTicks,
    yTicks,
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
    textScale: ts,
    formatY,
  });
  drawLines(canvas, area, series, references);
  if (!series.some((s) => s.points.length) && !references.length) {
    canvas.text("no data", rect.x + rect.width / 2, rect.y + rect.height / 2, {
      scale: ts,
      align: "center",
      baseline: "middle",
      color: AXIS_COLOR,
    });
  }
  if (hidden) {
    const msg = logY
      ? `${hidden} value${hidden > 1 ? "s" : ""} ≤ 0 or not finite not shown (log scale)`
      : `${hidden} non-finite value${hidden > 1 ? "s" : ""} not shown`;
    canvas.text(msg, rect.x, height - 12 - 9 * ts, { scale: ts, color: AXIS_COLOR });
  }
  drawLegend(canvas, layout, legend, ts);
  return canvas;
}

/** A series with its colour, marker and dashing resolved, its drawable points sorted along x. */
interface ResolvedSeries {
  name: string;
  color: Color;
  marker: MarkerShape;
  dashed: boolean;
  points: (readonly [number, number])[];
  /** Runs of consecutive drawable points: a line does not bridge a value it cannot show. */
  runs: (readonly [number, number])[][];
}

/** One entry of the legend: a line sample, with the series' marker or none (a reference line). */
interface LegendEntry {
  name: string;
  color: Color;
  marker: MarkerShape | null;
  dashed: boolean;
}

/** Where the legend entries and the plot area go. */
interface ChartLayout {
  left: number;
  legendTop: number;
  legendRowH: number;
  legendPlaces: { x: number; row: number }[];
  rect: Rect;
}

function resolveSeries(series: readonly ChartSeries[], usable: (y: number) => boolean): ResolvedSeries[] {
  return series.map((s, i) => ({
    name: s.name,
    color: toColor(s.color, PALETTE[i % PALETTE.length]),
    marker: s.marker ?? MARKERS[i % MARKERS.length],
    dashed: s.dashed ?? false,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && usable(y)).slice().sort((a, b) => a[0] - b[0]),
    runs: s.points.filter(([x]) => Number.isFinite(x)).slice().sort((a, b) => a[0] - b[0]).reduce<
      (readonly [number, number])[][]
    >((runs, q) => {
      if (!usable(q[1])) runs.push([]);
      else runs[runs.length - 1].push(q);
      return runs;
    }, [[]]),
  }));
}

/** The x range of the points, padded by 4 % (a single x widened to ±1 first). */
function xScaleOf(series: readonly ResolvedSeries[]): Scale {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  let xMin = xs.length ? Math.min(...xs) : 0, xMax = xs.length ? Math.max(...xs) : 1;
  if (xMax - xMin < 1e-12) xMin -= 1, xMax += 1;
  const xPad = (xMax - xMin) * 0.04;
  return { min: xMin - xPad, max: xMax + xPad };
}

/** The y range of the values, padded (by 6 % of the decades on a log axis, else by 7 %). */
function yScaleOf(ys: readonly number[], logY: boolean): Scale {
  if (!ys.length) return logY ? { min: 0.1, max: 1, log: true } : { min: 0, max: 1 };
  if (logY) {
    let lo = Math.log10(Math.min(...ys)), hi = Math.log10(Math.max(...ys));
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    const pad = (hi - lo) * 0.06;
    return { min: 10 ** (lo - pad), max: 10 ** (hi + pad), log: true };
  }
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const pad = (hi - lo) * 0.07;
  return { min: lo - pad, max: hi + pad };
}

/** About 8 ticks at integers (laps) inside the scale. */
function integerTicks(s: Scale): number[] {
  const t = niceTicks(s.min, s.max, 8);
  const step = Math.max(1, Math.round(t.step));
  const out: number[] = [];
  for (let v = Math.ceil(s.min / step) * step; v <= s.max; v += step) out.push(v);
  return out;
}

/**
 * Layout: title on top, then the legend in rows of entries, wrapping, so that the plot keeps the
 * full width and no entry hides data (baselines lie at the top of a decreasing curve's range);
 * room for tick labels on the left and below.
 */
function chartLayout(
  opts: LineChartOptions,
  c: {
    width: number;
    height: number;
    ts: number;
    yTicks: number[];
    formatY: (v: number) => string;
    legend: LegendEntry[];
    hidden: number;
  },
): ChartLayout {
  const { width, height, ts } = c;
  const glyphH = 9 * ts;
  const yLabelWidth = Math.max(0, ...c.yTicks.map((v) => Canvas.measureText(c.formatY(v), ts).width));
  const left = 16 + (opts.yLabel ? glyphH + 10 : 0) + yLabelWidth + 6 + 5 + 6;
  const right = 28;
  let top = 18 + headingHeight(opts.title, opts.subtitle, ts);
  const legendRowH = glyphH + 10;
  const legendPlaces: { x: number; row: number }[] = [];
  let x = left, row = 0;
  for (const e of c.legend) {
    const w = 44 + 8 + Canvas.measureText(e.name, ts).width + 28;
    if (x > left && x + w > width - right) x = left, row++;
    legendPlaces.push({ x, row });
    x += w;
  }
  const legendTop = top + 2;
  if (c.legend.length) top += (Math.max(...legendPlaces.map((p) => p.row)) + 1) * legendRowH + 6;
  top += 8;
  const bottom = 5 + 4 + glyphH + 8 + (opts.xLabel ? glyphH + 6 : 0) + (c.hidden ? glyphH + 6 : 0) + 12;
  const rect = { x: left, y: top, width: width - left - right, height: height - top - bottom };
  if (rect.width < 50 || rect.height < 50) {
    throw new Error(`lineChart: ${width}×${height} is too small for its labels`);
  }
  return { left, legendTop, legendRowH, legendPlaces, rect };
}

/** Reference lines and series lines inside the frame, then markers on top (they may overhang it). */
function drawLines(
  canvas: Canvas,
  area: PlotArea,
  series: readonly ResolvedSeries[],
  references: readonly { value: number; color: Color }[],
): void {
  const { rect } = area;
  canvas.withClip({ x: rect.x, y: rect.y, width: rect.width, height: rect.height }, () => {
    for (const r of references) {
      const y = area.py(r.value);
      canvas.line(rect.x, y, rect.x + rect.width, y, r.color, { width: 2, dash: DASH });
    }
    for (const s of series) {
      for (const run of s.runs) {
        const pts = run.map(([x, y]) => [area.px(x), area.py(y)] as [number, number]);
        if (pts.length >= 2) canvas.polyline(pts, s.color, { width: 2.5, dash: s.dashed ? DASH : undefined });
      }
    }
  });
  // Markers after all lines, so that no line crosses over a marker.
  for (const s of series) {
    for (const [x, y] of s.points) canvas.marker(area.px(x), area.py(y), s.marker, 9, s.color, WHITE);
  }
}

function drawLegend(canvas: Canvas, layout: ChartLayout, legend: readonly LegendEntry[], ts: number): void {
  legend.forEach((e, i) => {
    const { x, row } = layout.legendPlaces[i];
    const cy = layout.legendTop + row * layout.legendRowH + 3.5 * ts;
    canvas.line(x, cy, x + 44, cy, e.color, {
      width: e.marker ? 2.5 : 2,
      dash: e.dashed ? [8, 5] : undefined,
    });
    if (e.marker) canvas.marker(x + 22, cy, e.marker, 9, e.color, WHITE);
    canvas.text(e.name, x + 52, cy, { scale: ts, baseline: "middle", color: BLACK });
  });
}
