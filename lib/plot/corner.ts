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
import { autoTicks, AXIS_COLOR, drawAxes, PlotArea, type Scale, tickFormatter } from "./axes.ts";
import { BLACK, Canvas, type Color, PALETTE, parseColor, WHITE, withAlpha } from "./canvas.ts";

/**
 * Rows of points: `shape[0]` points of `shape[1]` features (higher dimensions are flattened
 * into features), row-major, as an `NDArray` from the store is.
 *
 * ```ts
 * const pts: PointMatrix = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
 * ```
 */
export interface PointMatrix {
  shape: readonly number[];
  data: ArrayLike<number>;
}

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

function toColor(c: string | Color | undefined, fallback: string): Color {
  return c === undefined ? parseColor(fallback) : typeof c === "string" ? parseColor(c) : c;
}

/**
 * Default axis range of each feature: 0.5 % to 99.5 % quantiles over all layers, padded by 8 %,
 * so that a few wild samples do not squash the picture.
 *
 * ```ts
 * robustRanges([samples], 5); // [[lo, hi], …] for 5 features
 * ```
 */
export function robustRanges(sets: readonly PointMatrix[], features: number): [number, number][] {
  const out: [number, number][] = [];
  for (let f = 0; f < features; f++) {
    const values: number[] = [];
    for (const s of sets) {
      const n = s.shape[0], d = s.data.length / Math.max(1, n);
      const stride = Math.max(1, Math.floor(n / 20000));
      for (let i = 0; i < n; i += stride) {
        const v = s.data[i * d + f];
        if (Number.isFinite(v)) values.push(v);
      }
    }
    if (!values.length) {
      out.push([-1, 1]);
      continue;
    }
    values.sort((a, b) => a - b);
    const q = (p: number) =>
      values[Math.min(values.length - 1, Math.max(0, Math.round(p * (values.length - 1))))];
    let lo = q(0.005), hi = q(0.995);
    if (hi - lo < 1e-9) lo -= 1, hi += 1;
    const pad = (hi - lo) * 0.08;
    out.push([lo - pad, hi + pad]);
  }
  return out;
}

/**
 * Draw a corner plot; returns the canvas.
 *
 * ```ts
 * const png = cornerPlot({ layers: [{ name: "samples", points: x }] }).toPng();
 * ```
 */
export function cornerPlot(opts: CornerOptions): Canvas {
  const layers = opts.layers.map((l, i) => {
    const n = l.points.shape[0] ?? 0;
    const width = n ? l.points.data.length / n : 0;
    return { ...l, n, width, color: toColor(l.color, PALETTE[i % PALETTE.length]) };
  });
  const totalFeatures = Math.max(0, ...layers.map((l) => l.width));
  const D = Math.max(1, Math.min(totalFeatures, opts.maxFeatures ?? 8));
  const labels = Array.from({ length: D }, (_, i) => opts.labels?.[i] ?? `x${i + 1}`);
  const ranges: [number, number][] = opts.range === undefined
    ? robustRanges(layers.map((l) => l.points), D)
    : typeof opts.range[0] === "number"
    ? Array.from({ length: D }, () => [...(opts.range as [number, number])] as [number, number])
    : Array.from(
      { length: D },
      (_, i) =>
        [...(opts.range as [number, number][])[Math.min(i, opts.range!.length - 1)]] as [number, number],
    );
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
  let top = 16;
  if (opts.title) top += 7 * (ts + 1) + 10;
  if (opts.subtitle) top += 7 * ts + 10;
  // With one feature there is no empty upper triangle to hold the legend: give it a line.
  const legendOnTop = D === 1;
  if (legendOnTop) top += glyphH + 12;
  top += 10;
  const bottom = 5 + 4 + glyphH + 8 + glyphH + 16;
  const right = 20;
  const width = left + D * cell + (D - 1) * gap + right;
  const height = top + D * cell + (D - 1) * gap + bottom;
  const canvas = new Canvas(width, height, WHITE);

  let ty = 16;
  if (opts.title) {
    canvas.text(opts.title, 14, ty, { scale: ts + 1, bold: true });
    ty += 7 * (ts + 1) + 10;
  }
  if (opts.subtitle) {
    canvas.text(opts.subtitle, 14, ty, { scale: ts, color: AXIS_COLOR });
    ty += 7 * ts + 10;
  }

  const cellRect = (row: number, col: number) => ({
    x: left + col * (cell + gap),
    y: top + row * (cell + gap),
    width: cell,
    height: cell,
  });
  const strided = (l: (typeof layers)[number]) => {
    const max = Math.max(1, opts.maxPoints ?? 2000);
    const step = l.n > max ? l.n / max : 1;
    const idx: number[] = [];
    for (let k = 0; Math.floor(k * step) < l.n && idx.length < max; k++) idx.push(Math.floor(k * step));
    return idx;
  };
  const shown = layers.map(strided);
  const bins = Math.max(2, opts.bins ?? 40);

  for (let row = 0; row < D; row++) {
    for (let col = 0; col <= row; col++) {
      const rect = cellRect(row, col);
      const xTickLabels = row === D - 1, yTickLabels = col === 0 && row > 0;
      if (row === col) {
        // Histogram densities over the feature's range, shared height across layers.
        const [lo, hi] = ranges[row], bw = (hi - lo) / bins;
        const densities = layers.map((l) => {
          const counts = new Float64Array(bins);
          let total = 0;
          for (let i = 0; i < l.n; i++) {
            const v = l.points.data[i * l.width + row];
            if (!Number.isFinite(v)) continue;
            total++;
            const b = Math.floor((v - lo) / bw);
            if (b >= 0 && b < bins) counts[b]++;
          }
          return Array.from(counts, (c) => (total ? c / (total * bw) : 0));
        });
        const peak = Math.max(1e-12, ...densities.flat());
        const area = new PlotArea(rect, scales[row], { min: 0, max: peak * 1.08 });
        drawAxes(canvas, area, {
          xTicks: ticks[row],
          yTicks: null,
          xTickLabels,
          textScale: ts,
          xLabel: xTickLabels ? labels[col] : undefined,
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
      } else {
        const area = new PlotArea(rect, scales[col], scales[row]);
        drawAxes(canvas, area, {
          xTicks: ticks[col],
          yTicks: ticks[row],
          xTickLabels,
          yTickLabels,
          textScale: ts,
          formatY: formats[row],
          formatX: formats[col],
          xLabel: xTickLabels ? labels[col] : undefined,
        });
        canvas.withClip(rect, () => {
          layers.forEach((l, li) => {
            const idx = shown[li];
            const alpha = l.alpha ?? Math.max(0.06, Math.min(0.8, 14 / Math.sqrt(Math.max(1, idx.length))));
            const radius = l.radius ?? (cell >= 160 ? 1.4 : 1.1);
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
    }
  }

  // Feature names along the left edge, aligned in one column whatever the tick labels' widths
  // (the top row too, although its histogram has no y axis: it names the row).
  if (D > 1) {
    for (let row = 0; row < D; row++) {
      const r = cellRect(row, 0);
      canvas.text(labels[row], 14, r.y + r.height / 2, {
        scale: ts,
        align: "center",
        rotate: true,
        color: BLACK,
      });
    }
  }

  // Legend: in the empty upper triangle, right-aligned; or under the title for one feature.
  const entries = layers.map((l) => ({
    name: `${l.name}${
      l.n > (opts.maxPoints ?? 2000) ? ` (${shown[layers.indexOf(l)].length} of ${l.n} shown)` : ""
    }`,
    color: l.color,
  }));
  const rowH = glyphH + 10;
  const textW = Math.max(0, ...entries.map((e) => Canvas.measureText(e.name, ts).width));
  if (legendOnTop) {
    let x = 14;
    for (const e of entries) {
      canvas.fillRect(x, ty + 1, 7 * ts, 7 * ts, e.color);
      x += 7 * ts + 8 + canvas.text(e.name, x + 7 * ts + 8, ty, { scale: ts }) + 24;
    }
  } else {
    const lastCell = cellRect(0, D - 1);
    const lx = lastCell.x + lastCell.width - (textW + 7 * ts + 10), ly = lastCell.y + 4;
    entries.forEach((e, i) => {
      const y = ly + i * rowH;
      canvas.disc(lx + 3.5 * ts, y + 3.5 * ts, 3.5 * ts, e.color);
      canvas.text(e.name, lx + 7 * ts + 10, y, { scale: ts, color: BLACK });
    });
  }
  if (totalFeatures > D) {
    canvas.text(`first ${D} of ${totalFeatures} features`, width - right, height - 8 - glyphH, {
      scale: ts,
      align: "right",
      color: AXIS_COLOR,
    });
  }
  return canvas;
}
