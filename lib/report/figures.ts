/**
 * The pictures of a report, as PNG files: one chart per metric over EM laps (a line per method,
 * baselines as dashed horizontal lines), and corner plots of samples over the truth.
 *
 * ```ts
 * const colorOf = seriesColors(["em", "gauss_eval"]);
 * const chart = metricCurveFigure("sinkhorn", methods, baselines, { colorOf, logY: "auto" });
 * await Deno.writeFile(chart!.file, chart!.png);
 * ```
 *
 * @module
 */
import {
  type ChartSeries,
  type CornerLayer,
  cornerPlot,
  formatNumber,
  lineChart,
  PALETTE,
  type PointMatrix,
  type ReferenceLine,
  robustRanges,
} from "../plot/mod.ts";
import type { Baseline, CornerJob, Evaluation, MethodRuns } from "./evaluations.ts";
import { METRIC_TITLE, metricValue } from "./_metrics.ts";

/**
 * A picture of the report: its file name, its PNG bytes, and its caption on the page.
 *
 * ```ts
 * const fig: Figure = { file: "sinkhorn.png", png, caption: "Sinkhorn divergence" };
 * ```
 */
export interface Figure {
  file: string;
  png: Uint8Array;
  caption: string;
}

const TRUTH_COLOR = "#3a3a3a";

/**
 * One palette colour per name (methods, then baselines), in turn.
 *
 * ```ts
 * seriesColors(["em", "diffem"]).get("diffem"); // "#ff7f0e"
 * ```
 */
export function seriesColors(names: readonly string[]): Map<string, string> {
  return new Map(names.map((name, i) => [name, PALETTE[i % PALETTE.length]]));
}

/**
 * The metrics drawn as curves: `sinkhorn` always, first, then the others asked for.
 *
 * ```ts
 * curveMetrics(["mean_error", "sinkhorn"]); // ["sinkhorn", "mean_error"]
 * ```
 */
export function curveMetrics(curves: readonly string[]): string[] {
  return ["sinkhorn", ...curves.filter((c) => c !== "sinkhorn")];
}

/**
 * Options of {@link metricCurveFigure}.
 *
 * ```ts
 * const opts: CurveOptions = { colorOf: seriesColors(["em"]), logY: "auto" };
 * ```
 */
export interface CurveOptions {
  /** Colour of each method and baseline. */
  colorOf: ReadonlyMap<string, string>;
  /** Log scale, or `auto`: when every value is positive and they span a factor of 20. */
  logY: boolean | "auto";
}

/**
 * The chart of `metric` over EM laps (`<metric>.png`); null for a metric no method has, except
 * `sinkhorn`, which is always drawn.
 *
 * ```ts
 * const fig = metricCurveFigure("mean_error", methods, baselines, { colorOf, logY: false });
 * ```
 */
export function metricCurveFigure<E extends Evaluation>(
  metric: string,
  methods: readonly MethodRuns<E>[],
  baselines: readonly Baseline<E>[],
  opts: CurveOptions,
): Figure | null {
  const series: ChartSeries[] = methods.map((m) => ({
    name: m.name,
    color: opts.colorOf.get(m.name),
    points: m.laps.flatMap((l) => {
      const v = metricValue(l.entry.metrics, metric);
      return v === null ? [] : [[l.lap, v] as [number, number]];
    }),
  }));
  const references: ReferenceLine[] = baselines.flatMap((b) => {
    const v = metricValue(b.entry.metrics, metric);
    return v === null ? [] : [{ name: b.name, value: v, color: opts.colorOf.get(b.name) }];
  });
  if (metric !== "sinkhorn" && !series.some((s) => s.points.length)) return null;
  const values = [...series.flatMap((s) => s.points.map((q) => q[1])), ...references.map((r) => r.value)];
  const logY = opts.logY === "auto"
    ? values.length > 1 && values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) >= 20
    : opts.logY;
  const title = METRIC_TITLE[metric] ?? metric;
  const chart = lineChart({
    title: `${title} over EM laps`,
    subtitle: `${metric}${logY ? " · log scale" : ""}${references.length ? " · dashed: baselines" : ""}`,
    xLabel: "EM lap",
    yLabel: metric,
    series,
    references,
    logY,
    width: metric === "sinkhorn" ? 1000 : 760,
    height: metric === "sinkhorn" ? 560 : 460,
  });
  return { file: `${metric}.png`, png: chart.toPng(), caption: title };
}

/**
 * The first `features` columns of rows of any shape `[n, …]`, as `[n, features]`.
 *
 * ```ts
 * leadingColumns({ shape: [10, 28, 28], data }, 8).shape; // [10, 8]
 * ```
 */
export function leadingColumns(a: PointMatrix, features: number): PointMatrix {
  const n = a.shape[0] ?? 0, d = n ? a.data.length / n : 0, k = Math.min(d, features);
  if (k === d) return { shape: [n, d], data: a.data };
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = a.data[i * d + j];
  return { shape: [n, k], data: out };
}

/**
 * Shared axis ranges of every corner plot: from the truth where there is one, else from all samples.
 *
 * ```ts
 * const range = cornerRanges(truth, [samplesA, samplesB]);
 * ```
 */
export function cornerRanges(
  truth: PointMatrix | null,
  samples: readonly (PointMatrix | null)[],
): [number, number][] {
  if (truth) return robustRanges([truth], truth.shape[1]);
  const sets = samples.filter((s): s is PointMatrix => s !== null);
  return robustRanges(sets, Math.max(0, ...samples.map((s) => s?.shape[1] ?? 0)));
}

/**
 * Options of {@link cornerFigure}.
 *
 * ```ts
 * const opts: CornerFigureOptions = { color: "#1f77b4", range: [-3, 3], maxPoints: 1024, maxFeatures: 8 };
 * ```
 */
export interface CornerFigureOptions {
  /** Colour of the samples. */
  color?: string;
  /** Axis range of every feature, or one per feature. */
  range: readonly [number, number] | readonly (readonly [number, number])[];
  /** Points per sample set in each scatter panel. */
  maxPoints: number;
  /** Features shown. */
  maxFeatures: number;
}

/**
 * The corner plot of one job's samples over the truth (grey, underneath), with its key metrics:
 * `corner_<method>_lap<k>.png`, or `corner_<baseline>.png`.
 *
 * ```ts
 * const fig = cornerFigure(job, samples, truth, { color, range: [-3, 3], maxPoints: 1024, maxFeatures: 8 });
 * ```
 */
export function cornerFigure<E extends Evaluation>(
  job: CornerJob<E>,
  samples: PointMatrix,
  truth: PointMatrix | null,
  opts: CornerFigureOptions,
): Figure {
  const name = job.method ?? job.entry.stageId;
  const layers: CornerLayer[] = [];
  if (truth) layers.push({ name: "truth", points: truth, color: TRUTH_COLOR });
  layers.push({
    name: job.method === null ? `${name} samples` : `${name} samples, lap ${job.lap}`,
    points: samples,
    color: opts.color,
  });
  const m = job.entry.metrics;
  const facts = (["sinkhorn", "mean_error", "cov_error", "outside_box"] as const)
    .map((k) => (metricValue(m, k) === null ? null : `${k} ${formatNumber(metricValue(m, k)!)}`))
    .filter((s) => s !== null);
  const title = job.method === null ? `${name} (baseline)` : `${name} · lap ${job.lap}`;
  const fig = cornerPlot({
    title,
    subtitle: facts.join(" · "),
    layers,
    range: opts.range,
    maxPoints: opts.maxPoints,
    maxFeatures: opts.maxFeatures,
  });
  const file = job.method === null
    ? `corner_${safeName(name)}.png`
    : `corner_${safeName(name)}_lap${job.lap}.png`;
  return { file, png: fig.toPng(), caption: title };
}

/** File-name-safe form of a method or stage name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "stage";
}
