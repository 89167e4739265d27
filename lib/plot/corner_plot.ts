/**
 * Corner plots of vector samples: for D features, a D × D lower-triangular grid with pairwise
 * scatter plots below the diagonal and 1-D histograms on it, several sample sets overlaid (e.g.
 * the truth in grey under the model's samples in colour), with a title and a legend.
 *
 * ```ts
 * const fig = cornerPlot({
 *   title: "em · lap 3",
 *   layers: [
 *     { name: "truth", points: truthX, color: "#3a3a3a" },
 *     { name: "samples", points: samplesX, color: "#1f77b4" },
 *   ],
 *   range: [-3, 3],
 * });
 * await Deno.writeFile("corner.png", fig.toPng());
 * ```
 *
 * @module
 */
import { autoTicks, AXIS_COLOR, drawAxes, PlotArea, type Scale, tickFormatter } from "./_axes.ts";
import { Canvas, type Rect } from "./_canvas.ts";
import { BLACK, type Color, PALETTE, toColor, WHITE, withAlpha } from "./_color.ts";
import { drawHeading, headingHeight } from "./_heading.ts";
import { type PointMatrix, robustRanges } from "./_points.ts";

/**
 * One sample set of a corner plot.
 *
 * ```ts
 * const layer: CornerLayer = { name: "samples", points: x, color: "#ff7f0e", alpha: 0.3 };
 * ```
 */
export interface CornerLayer {
  name: string;
  points: PointMatrix;
  /** Default: the palette, in order. */
  color?: string | Color;
  /** Opacity of scatter points; default from the number of points drawn (denser → fainter). */
  alpha?: number;
  /** Radius of scatter points in pixels (default 1.4). */
  radius?: number;
}

/**
 * Options of {@link cornerPlot}.
 *
 * ```ts
 * cornerPlot({ layers, range: [-3, 3], maxPoints: 1000, labels: ["x₁", "x₂"], title: "lap 4" });
 * ```
 */
export interface CornerOptions {
  /** Drawn in order: the first lies underneath. */
  layers: readonly CornerLayer[];
  /** Feature names (default `x1`, `x2`, …). */
  labels?: readonly string[];
  /** Axis range for every feature, or one per feature; default: from the data (0.5–99.5 % quantiles, padded). */
  range?: readonly [number, number] | readonly (readonly [number, number])[];
  /** Only the first `maxFeatures` features are shown (default 8). */
  maxFeatures?: number;
  /** At most this many points per layer in the scatter plots, evenly strided (default 2000); histograms use every point. */
  maxPoints?: number;
  /** Histogram bins over the axis range (default 40). */
  bins?: number;
  /** Side of one panel in pixels (default: about 1000 / D, within 110–240). */
  cellSize?: number;
  title?: string;
  /** A smaller line under the title (metrics, sample counts). */
  subtitle?: string;
}

/**
 * Draw a corner plot; returns the canvas.
 *
 * ```ts
 * const png = cornerPlot({ layers: [{ name: "samples", points: x }] }).toPng();
 * ```
 */
export function cornerPlot(opts: CornerOptions): Canvas {
  const layers = resolveLayers(opts.layers);
  const totalFeatures = Math.max(0, ...layers.map((l) => l.width));
  const g = cornerLayout(opts, layers, totalFeatures);
  const canvas = new Canvas(g.width, g.height, WHITE);
  const headingBottom = drawHeading(canvas, 14, 16, opts.title, opts.subtitle, g.ts);
  const shown = layers.map((l) => stridedIndices(l.n, opts.maxPoints));
  const bins = Math.max(2, opts.bins ?? 40);
  for (let row = 0; row < g.D; row++) {
    for (let col = 0; col < row; col++) drawScatterCell(canvas, g, layers, shown, row, col);
    drawHistogramCell(canvas, g, layers, row, bins);
  }
  if (g.D > 1) drawRowLabels(canvas, g);
  drawLegend(canvas, g, layers, shown, opts.maxPoints ?? 2000, headingBottom);
  if (totalFeatures > g.D) {
    canvas.text(`first ${g.D} of ${totalFeatures} features`, g.width - g.right, g.height - 8 - g.glyphH, {
      scale: g.ts,
      align: "right",
      color: AXIS_COLOR,
    });
  }
  return canvas;
}

/** A layer with its colour resolved and its shape read: `n` points of `width` values each. */
interface ResolvedLayer extends CornerLayer {
  color: Color;
  n: number;
  width: number;
}

/** Where everything of a corner plot goes, computed before anything is drawn. */
interface CornerLayout {
  /** Features shown: a D × D grid. */
  D: number;
  labels: string[];
  ranges: [number, number][];
  scales: Scale[];
  ticks: number[][];
  formats: ((v: number) => string)[];
  /** Side of one panel, and the space between panels. */
  cell: number;
  gap: number;
  /** Text scale, and the height of a line of text at it. */
  ts: number;
  glyphH: number;
  left: number;
  top: number;
  right: number;
  width: number;
  height: number;
  /** With one feature there is no empty upper triangle to hold the legend: it gets a line on top. */
  legendOnTop: boolean;
}

function resolveLayers(layers: readonly CornerLayer[]): ResolvedLayer[] {
  return layers.map((l, i) => {
    const n = l.points.shape[0] ?? 0;
    const width = n ? l.points.data.length / n : 0;
    return { ...l, n, width, color: toColor(l.color, PALETTE[i % PALETTE.length]) };
  });
}

/** The axis range of each of the first `D` features: given (one for all, or per feature) or robust. */
function featureRanges(
  range: CornerOptions["range"],
  layers: readonly ResolvedLayer[],
  D: number,
): [number, number][] {
  if (range === undefined) return robustRanges(layers.map((l) => l.points), D);
  if (typeof range[0] === "number") {
    return Array.from({ length: D }, () => [...(range as [number, number])] as [number, number]);
  }
  const perFeature = range as readonly (readonly [number, number])[];
  return Array.from(
    { length: D },
    (_, i) => [...perFeature[Math.min(i, perFeature.length - 1)]] as [number, number],
  );
}

function cornerLayout(
  opts: CornerOptions,
  layers: readonly ResolvedLayer[],
  totalFeatures: number,
): CornerLayout {
  const D = Math.max(1, Math.min(totalFeatures, opts.maxFeatures ?? 8));
  const labels = Array.from({ length: D }, (_, i) => opts.labels?.[i] ?? `x${i + 1}`);
  const ranges = featureRanges(opts.range, layers, D);
  const scales: Scale[] = ranges.map(([min, max]) => ({ min, max }));
  const cell = Math.round(opts.cellSize ?? Math.max(110, Math.min(240, Math.floor(1000 / D))));
  const gap = Math.max(6, Math.round(cell * 0.05));
  const ts = cell >= 100 ? 2 : 1;
  const glyphH = 9 * ts;
  const tickTarget = cell >= 180 ? 5 : 4;
  const ticks = scales.map((s) => autoTicks(s, tickTarget));
  const formats = ticks.map((t) => tickFormatter(t));
  const yLabelWidth = Math.max(
    0,
    ...ticks.slice(1).flatMap((t, i) => t.map((v) => Canvas.measureText(formats[i + 1](v), ts).width)),
  );
  const left = 14 + glyphH + 10 + yLabelWidth + 6 + 5 + 4;
  const legendOnTop = D === 1;
  const top = 16 + headingHeight(opts.title, opts.subtitle, ts) + (legendOnTop ? glyphH + 12 : 0) + 10;
  const bottom = 5 + 4 + glyphH + 8 + glyphH + 16;
  const right = 20;
  const width = left + D * cell + (D - 1) * gap + right;
  const height = top + D * cell + (D - 1) * gap + bottom;
  return {
    D,
    labels,
    ranges,
    scales,
    ticks,
    formats,
    cell,
    gap,
    ts,
    glyphH,
    left,
    top,
    right,
    width,
    height,
    legendOnTop,
  };
}

function cellRect(g: CornerLayout, row: number, col: number): Rect {
  return {
    x: g.left + col * (g.cell + g.gap),
    y: g.top + row * (g.cell + g.gap),
    width: g.cell,
    height: g.cell,
  };
}

/** At most `maxPoints` (default 2000) of `n` point indices, evenly strided. */
function stridedIndices(n: number, maxPoints: number | undefined): number[] {
  const max = Math.max(1, maxPoints ?? 2000);
  const step = n > max ? n / max : 1;
  const idx: number[] = [];
  for (let k = 0; Math.floor(k * step) < n && idx.length < max; k++) idx.push(Math.floor(k * step));
  return idx;
}

/** Density of `feature` over `bins` bins of width `bw` from `lo`, over the layer's finite values. */
function histogramDensity(l: ResolvedLayer, feature: number, lo: number, bw: number, bins: number): number[] {
  const counts = new Float64Array(bins);
  let total = 0;
  for (let i = 0; i < l.n; i++) {
    const v = l.points.data[i * l.width + feature];
    if (!Number.isFinite(v)) continue;
    total++;
    const b = Math.floor((v - lo) / bw);
    if (b >= 0 && b < bins) counts[b]++;
  }
  return Array.from(counts, (c) => (total ? c / (total * bw) : 0));
}

/** The diagonal panel of `row`: histogram densities over the feature's range, one height for all layers. */
function drawHistogramCell(
  canvas: Canvas,
  g: CornerLayout,
  layers: readonly ResolvedLayer[],
  row: number,
  bins: number,
): void {
  const rect = cellRect(g, row, row);
  const xTickLabels = row === g.D - 1;
  const [lo, hi] = g.ranges[row], bw = (hi - lo) / bins;
  const densities = layers.map((l) => histogramDensity(l, row, lo, bw, bins));
  const peak = Math.max(1e-12, ...densities.flat());
  const area = new PlotArea(rect, g.scales[row], { min: 0, max: peak * 1.08 });
  drawAxes(canvas, area, {
    xTicks: g.ticks[row],
    yTicks: null,
    xTickLabels,
    textScale: g.ts,
    xLabel: xTickLabels ? g.labels[row] : undefined,
  });
  canvas.withClip(rect, () => {
    densities.forEach((dens, li) => {
      const color = layers[li].color;
      const outline: [number, number][] = [[area.px(lo), area.py(0)]];
      for (let b = 0; b < bins; b++) {
        const x0 = area.px(lo + b * bw), x1 = area.px(lo + (b + 1) * bw), y = area.py(dens[b]);
        canvas.fillRect(x0, y, x1 - x0, area.py(0) - y, withAlpha(color, 0.22));
        outline.push([x0, y], [x1, y]);
      }
      outline.push([area.px(hi), area.py(0)]);
      canvas.polyline(outline, withAlpha(color, 0.95), { width: 1.6 });
    });
  });
}

/** The panel below the diagonal at (`row`, `col`): feature `col` along x, feature `row` along y. */
function drawScatterCell(
  canvas: Canvas,
  g: CornerLayout,
  layers: readonly ResolvedLayer[],
  shown: readonly number[][],
  row: number,
  col: number,
): void {
  const rect = cellRect(g, row, col);
  const xTickLabels = row === g.D - 1;
  const area = new PlotArea(rect, g.scales[col], g.scales[row]);
  drawAxes(canvas, area, {
    xTicks: g.ticks[col],
    yTicks: g.ticks[row],
    xTickLabels,
    yTickLabels: col === 0 && row > 0,
    textScale: g.ts,
    formatY: g.formats[row],
    formatX: g.formats[col],
    xLabel: xTickLabels ? g.labels[col] : undefined,
  });
  canvas.withClip(rect, () => {
    layers.forEach((l, li) => {
      const idx = shown[li];
      const alpha = l.alpha ?? Math.max(0.06, Math.min(0.8, 14 / Math.sqrt(Math.max(1, idx.length))));
      const radius = l.radius ?? (g.cell >= 160 ? 1.4 : 1.1);
      const color = withAlpha(l.color, alpha);
      for (const i of idx) {
        const x = l.points.data[i * l.width + col], y = l.points.data[i * l.width + row];
        if (Number.isFinite(x) && Number.isFinite(y)) {
          canvas.disc(area.px(x), area.py(y), radius, color);
        }
      }
    });
  });
}

/**
 * Feature names along the left edge, aligned in one column whatever the tick labels' widths
 * (the top row too, although its histogram has no y axis: it names the row).
 */
function drawRowLabels(canvas: Canvas, g: CornerLayout): void {
  for (let row = 0; row < g.D; row++) {
    const r = cellRect(g, row, 0);
    canvas.text(g.labels[row], 14, r.y + r.height / 2, {
      scale: g.ts,
      align: "center",
      rotate: true,
      color: BLACK,
    });
  }
}

/** Legend: in the empty upper triangle, right-aligned; or on a line at `lineY` for one feature. */
function drawLegend(
  canvas: Canvas,
  g: CornerLayout,
  layers: readonly ResolvedLayer[],
  shown: readonly number[][],
  maxPoints: number,
  lineY: number,
): void {
  const ts = g.ts;
  const entries = layers.map((l, li) => ({
    name: `${l.name}${l.n > maxPoints ? ` (${shown[li].length} of ${l.n} shown)` : ""}`,
    color: l.color,
  }));
  if (g.legendOnTop) {
    let x = 14;
    for (const e of entries) {
      canvas.fillRect(x, lineY + 1, 7 * ts, 7 * ts, e.color);
      x += 7 * ts + 8 + canvas.text(e.name, x + 7 * ts + 8, lineY, { scale: ts }) + 24;
    }
    return;
  }
  const rowH = g.glyphH + 10;
  const textW = Math.max(0, ...entries.map((e) => Canvas.measureText(e.name, ts).width));
  const lastCell = cellRect(g, 0, g.D - 1);
  const lx = lastCell.x + lastCell.width - (textW + 7 * ts + 10), ly = lastCell.y + 4;
  entries.forEach((e, i) => {
    const y = ly + i * rowH;
    canvas.disc(lx + 3.5 * ts, y + 3.5 * ts, 3.5 * ts, e.color);
    canvas.text(e.name, lx + 7 * ts + 10, y, { scale: ts, color: BLACK });
  });
}
