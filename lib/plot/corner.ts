/**
 * Corner plots as a Vega-Lite spec: for the first features of sample sets (the truth in grey under
 * a method's samples), a histogram of each feature on the diagonal and a scatter plot of each pair
 * below it, on shared axis ranges. In the page every scatter panel zooms (wheel) and pans (drag),
 * and hovering a point shows its values.
 *
 * ```ts
 * const spec = cornerSpec({
 *   title: "em · lap 3",
 *   layers: [{ name: "truth", points: truth, color: "#3a3a3a" }, { name: "em samples", points: x, color: "#1f77b4" }],
 *   range: [-3, 3], maxPoints: 1024, maxFeatures: 8,
 * });
 * ```
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { PointMatrix } from "./_points.ts";
import { FONT_FAMILY } from "./_render.ts";

/**
 * One sample set of a corner plot.
 *
 * ```ts
 * const layer: CornerLayer = { name: "truth", points: truth, color: "#3a3a3a" };
 * ```
 */
export interface CornerLayer {
  name: string;
  points: PointMatrix;
  color: string;
}

/**
 * Options of {@link cornerSpec}.
 *
 * ```ts
 * const o: CornerOptions = { title: "lap 3", layers, range: [-3, 3], maxPoints: 1024, maxFeatures: 8 };
 * ```
 */
export interface CornerOptions {
  title: string;
  subtitle?: string;
  /** Drawn in order: the first underneath. */
  layers: readonly CornerLayer[];
  /** Axis range of every feature, or one per feature. */
  range: readonly [number, number] | readonly (readonly [number, number])[];
  /** Points per layer in each scatter panel (evenly thinned). */
  maxPoints: number;
  /** Features shown (the first ones). */
  maxFeatures: number;
}

/** The rows of the chart's data: up to maxPoints of each layer, values to 4 significant digits. */
function rowsOf(opts: CornerOptions, features: number): Record<string, number | string>[] {
  const rows: Record<string, number | string>[] = [];
  for (const layer of opts.layers) {
    const n = layer.points.shape[0] ?? 0, d = n ? layer.points.data.length / n : 0;
    const stride = Math.max(1, n / opts.maxPoints);
    for (let t = 0; Math.floor(t) < n; t += stride) {
      const i = Math.floor(t);
      const row: Record<string, number | string> = { set: layer.name };
      let finite = true;
      for (let f = 0; f < features; f++) {
        const v = layer.points.data[i * d + f];
        finite &&= Number.isFinite(v);
        row[`x${f}`] = Number(v.toPrecision(4));
      }
      if (finite) rows.push(row);
    }
  }
  return rows;
}

/** Range of feature `f`. */
function rangeOf(opts: CornerOptions, f: number): [number, number] {
  const r = typeof opts.range[0] === "number" ? opts.range as readonly [number, number] : opts.range[f] as [
    number,
    number,
  ];
  return [r[0], r[1]];
}

/**
 * The Vega-Lite spec of a corner plot.
 *
 * ```ts
 * const spec = cornerSpec({ title: "gauss_eval (baseline)", layers, range: [-3, 3], maxPoints: 512, maxFeatures: 5 });
 * ```
 */
export function cornerSpec(opts: CornerOptions): TopLevelSpec {
  const features = Math.min(
    opts.maxFeatures,
    ...opts.layers.map((l) => {
      const n = l.points.shape[0] ?? 0;
      return n ? l.points.data.length / n : 0;
    }),
  );
  const size = Math.round(Math.max(100, Math.min(260, 760 / Math.max(1, features))));
  const color = {
    field: "set",
    type: "nominal" as const,
    title: null,
    scale: { domain: opts.layers.map((l) => l.name), range: opts.layers.map((l) => l.color) },
    legend: { orient: "top" as const },
  };
  const axis = (f: number, show: boolean) => ({
    field: `x${f}`,
    type: "quantitative" as const,
    title: show ? `x${f}` : null,
    scale: { domain: rangeOf(opts, f), nice: false, zero: false },
    axis: { labels: show, ticks: show, tickCount: 4, grid: false },
  });
  const rows = [];
  for (let i = 0; i < features; i++) {
    const cells = [];
    for (let j = 0; j <= i; j++) {
      if (i === j) {
        cells.push({
          width: size,
          height: size,
          mark: { type: "bar", opacity: 0.55, binSpacing: 0 },
          encoding: {
            x: { ...axis(i, i === features - 1), bin: { extent: rangeOf(opts, i), maxbins: 30 } },
            y: { aggregate: "count", type: "quantitative", stack: null, title: null, axis: null },
            color,
          },
        });
      } else {
        cells.push({
          width: size,
          height: size,
          params: [{ name: `zoom_${i}_${j}`, select: "interval", bind: "scales" }],
          mark: { type: "circle", size: features > 4 ? 5 : 10, opacity: 0.45, tooltip: true },
          encoding: {
            x: axis(j, i === features - 1),
            y: axis(i, j === 0),
            color,
            tooltip: [{ field: "set" }, { field: `x${j}` }, { field: `x${i}` }],
          },
        });
      }
    }
    rows.push({ hconcat: cells, spacing: 6 });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: opts.title, subtitle: opts.subtitle ?? "" },
    // No aria labels on thousands of points: they would triple the SVG and the time to draw it.
    config: { font: FONT_FAMILY, view: { stroke: "#ccc" }, aria: false },
    data: { values: rowsOf(opts, features) },
    vconcat: rows,
    spacing: 6,
    resolve: { scale: { color: "shared" }, legend: { color: "shared" } },
  } as TopLevelSpec;
}
