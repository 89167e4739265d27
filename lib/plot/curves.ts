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
import { autoTicks, AXIS_COLOR, drawAxes, niceTicks, PlotArea, type Scale, tickFormatter } from "./axes.ts";
import { BLACK, Canvas, type Color, type MarkerShape, PALETTE, parseColor, WHITE } from "./canvas.ts";

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

function toColor(c: string | Color | undefined, fallback: string): Color {
  return c === undefined ? parseColor(fallback) : typeof c === "string" ? parseColor(c) : c;
}

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
  const series = opts.series.map((s, i) => ({
    name: s.name,
    color: toColor(s.color, PALETTE[i % PALETTE.length]),
    marker: s.marker ?? MARKERS[i % MARKERS.length],
    dashed: s.dashed ?? false,
    points: s.points.filter(([x, y]) => Number.isFinite(x) && usable(y)).slice().sort((a, b) => a[0] - b[0]),
    // Runs of consecutive drawable points: a line does not bridge a value it cannot show.
    runs: s.points.filter(([x]) => Number.isFinite(x)).slice().sort((a, b) => a[0] - b[0]).reduce<
      (readonly [number, number])[][]
    >((runs, q) => {
      if (!usable(q[1])) runs.push([]);
      else runs[runs.length - 1].push(q);
      return runs;
    }, [[]]),
  }));
  const references = (opts.references ?? []).filter((r) => usable(r.value)).map((r, i) => ({
    ...r,
    color: toColor(r.color, PALETTE[(series.length + i) % PALETTE.length]),
  }));
  const hidden = opts.series.reduce((n, s) => n + s.points.filter(([, y]) => !usable(y)).length, 0) +
    (opts.references ?? []).filter((r) => !usable(r.value)).length;

  // Data ranges.
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...references.map((r) => r.value)];
  let xMin = xs.length ? Math.min(...xs) : 0, xMax = xs.length ? Math.max(...xs) : 1;
  if (xMax - xMin < 1e-12) xMin -= 1, xMax += 1;
  const xPad = (xMax - xMin) * 0.04;
  const xScale: Scale = { min: xMin - xPad, max: xMax + xPad };
  let yScale: Scale;
  if (!ys.length) yScale = logY ? { min: 0.1, max: 1, log: true } : { min: 0, max: 1 };
  else if (logY) {
    let lo = Math.log10(Math.min(...ys)), hi = Math.log10(Math.max(...ys));
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    const pad = (hi - lo) * 0.06;
    yScale = { min: 10 ** (lo - pad), max: 10 ** (hi + pad), log: true };
  } else {
    let lo = Math.min(...ys), hi = Math.max(...ys);
    if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
      const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= pad, hi += pad;
    }
    const pad = (hi - lo) * 0.07;
    yScale = { min: lo - pad, max: hi + pad };
  }
  const xTicks = (opts.integerX ?? true)
    ? (() => {
      const t = niceTicks(xScale.min, xScale.max, 8);
      const step = Math.max(1, Math.round(t.step));
      const out: number[] = [];
      for (let v = Math.ceil(xScale.min / step) * step; v <= xScale.max; v += step) out.push(v);
      return out;
    })()
    : autoTicks(xScale, 8);
  const yTicks = autoTicks(yScale, 6);
  const formatY = tickFormatter(yTicks, logY);

  // Layout: title on top, legend on the right, room for tick labels on the left and below.
  const glyphH = 9 * ts;
  const yLabelWidth = Math.max(0, ...yTicks.map((v) => Canvas.measureText(formatY(v), ts).width));
  const left = 16 + (opts.yLabel ? glyphH + 10 : 0) + yLabelWidth + 6 + 5 + 6;
  const legendEntries = [
    ...series.map((s) => ({
      name: s.name,
      color: s.color,
      marker: s.marker as MarkerShape | null,
      dashed: s.dashed,
    })),
    ...references.map((r) => ({ name: r.name, color: r.color, marker: null, dashed: true })),
  ];
  const right = 28;
  let top = 18;
  if (opts.title) top += 7 * (ts + 1) + 10;
  if (opts.subtitle) top += 7 * ts + 10;
  // Legend: rows of entries above the plot, wrapping, so that the plot keeps the full width and
  // no entry hides data (baselines lie at the top of a decreasing curve's range).
  const legendRowH = glyphH + 10;
  const legendPlaces: { x: number; row: number }[] = [];
  {
    let x = left, row = 0;
    for (const e of legendEntries) {
      const w = 44 + 8 + Canvas.measureText(e.name, ts).width + 28;
      if (x > left && x + w > width - right) x = left, row++;
      legendPlaces.push({ x, row });
      x += w;
    }
  }
  const legendTop = top + 2;
  if (legendEntries.length) top += (Math.max(...legendPlaces.map((p) => p.row)) + 1) * legendRowH + 6;
  top += 8;
  const bottom = 5 + 4 + glyphH + 8 + (opts.xLabel ? glyphH + 6 : 0) + (hidden ? glyphH + 6 : 0) + 12;
  const rect = { x: left, y: top, width: width - left - right, height: height - top - bottom };
  if (rect.width < 50 || rect.height < 50) {
    throw new Error(`lineChart: ${width}×${height} is too small for its labels`);
  }
  const area = new PlotArea(rect, xScale, yScale);

  let ty = 18;
  if (opts.title) {
    canvas.text(opts.title, left, ty, { scale: ts + 1, bold: true, color: BLACK });
    ty += 7 * (ts + 1) + 10;
  }
  if (opts.subtitle) canvas.text(opts.subtitle, left, ty, { scale: ts, color: AXIS_COLOR });

  drawAxes(canvas, area, {
    xTicks,
    yTicks,
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
    textScale: ts,
    formatY,
  });

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
  // Markers after all lines, so that no line crosses over a marker; they may overhang the frame.
  for (const s of series) {
    for (const [x, y] of s.points) canvas.marker(area.px(x), area.py(y), s.marker, 9, s.color, WHITE);
  }

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
    canvas.text(msg, rect.x, height - 12 - glyphH, { scale: ts, color: AXIS_COLOR });
  }

  legendEntries.forEach((e, i) => {
    const { x, row } = legendPlaces[i];
    const cy = legendTop + row * legendRowH + 3.5 * ts;
    canvas.line(x, cy, x + 44, cy, e.color, {
      width: e.marker ? 2.5 : 2,
      dash: e.dashed ? [8, 5] : undefined,
    });
    if (e.marker) canvas.marker(x + 22, cy, e.marker, 9, e.color, WHITE);
    canvas.text(e.name, x + 52, cy, { scale: ts, baseline: "middle", color: BLACK });
  });
  return canvas;
}
