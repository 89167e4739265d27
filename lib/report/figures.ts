/**
 * The pictures of a report, as Vega-Lite specs (interactive in the page) and PNG files (for the
 * README and papers): one chart per metric over EM laps (a line per method, a band mean ± standard
 * error where the metric has `<metric>_se`, baselines as dashed horizontal lines), and corner plots
 * of samples over the truth.
 *
 * ```ts
 * const colorOf = seriesColors(["em", "gauss_eval"]);
 * const chart = await metricCurveFigure("sinkhorn", methods, baselines, { colorOf, logY: "auto" });
 * await Deno.writeFile(chart!.file, chart!.png);
 * ```
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import {
  type CornerLayer,
  cornerSpec,
  type CurveBaseline,
  type CurvePoint,
  type CurveSeries,
  curveSpec,
  formatNumber,
  PALETTE,
  type PointMatrix,
  renderSvg,
  robustRanges,
  svgToPng,
} from "../plot/mod.ts";
import type { Baseline, CornerJob, Evaluation, MethodRuns } from "./evaluations.ts";
import { METRIC_TITLE, metricValue, subsetMean } from "./_metrics.ts";

/**
 * A picture of the report: its PNG file, its caption, its Vega-Lite spec (drawn interactively in the
 * page), and the static SVG the page shows without JavaScript (null for corner plots, whose thousands
 * of points make the PNG the lighter fallback).
 *
 * ```ts
 * const fig: Figure = { file: "sinkhorn.png", png, caption: "Sinkhorn divergence", spec, svg };
 * ```
 */
export interface Figure {
  file: string;
  png: Uint8Array;
  caption: string;
  spec: TopLevelSpec;
  svg: string | null;
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
export async function metricCurveFigure<E extends Evaluation>(
  metric: string,
  methods: readonly MethodRuns<E>[],
  baselines: readonly Baseline<E>[],
  opts: CurveOptions,
): Promise<Figure | null> {
  const series: CurveSeries[] = methods.map((m) => ({
    name: m.name,
    color: opts.colorOf.get(m.name) ?? PALETTE[0],
    points: m.laps.flatMap((l) => {
      const p = curvePoint(l.entry, metric);
      return p ? [{ ...p, lap: l.lap }] : [];
    }),
  }));
  const references: CurveBaseline[] = baselines.flatMap((b) => {
    const v = subsetMean(b.entry.metrics, metric);
    const color = opts.colorOf.get(b.name) ?? PALETTE[0];
    return v === null ? [] : [{ name: b.name, value: v, color, stage: b.entry.stageId }];
  });
  if (metric !== "sinkhorn" && !series.some((s) => s.points.length)) return null;
  const values = [...series.flatMap((s) => s.points.map((q) => q.value)), ...references.map((r) => r.value)];
  const logY = opts.logY === "auto"
    ? values.length > 1 && values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) >= 20
    : opts.logY;
  const title = METRIC_TITLE[metric] ?? metric;
  const banded = series.some((s) => s.points.some((p) => p.se !== undefined));
  const overSeeds = methods.some((m) =>
    m.laps.some((l) => metricValue(l.entry.metrics, `${metric}_sd`) !== null)
  );
  const spec = curveSpec({
    title: `${title} over EM laps`,
    subtitle: `${metric}${logY ? " · log scale" : ""}${
      banded ? (overSeeds ? " · band: mean ± sd over seeds" : " · band: mean ± standard error") : ""
    }${references.length ? " · dashed: baselines" : ""}`,
    metric,
    series,
    baselines: references,
    logY,
    width: metric === "sinkhorn" ? 760 : 520,
    height: metric === "sinkhorn" ? 360 : 260,
  });
  const svg = await renderSvg(spec);
  return { file: `${metric}.png`, png: await svgToPng(svg, 2), caption: title, spec, svg };
}

/**
 * A lap's point of `metric`: its mean over subsets (or its value where it has none, {@link subsetMean}) and
 * stage, with the standard error as the band where there is one. The line and the band show one statistic,
 * the one `metrics` and the benchmarks lead with; the papers' single number stays in the tables.
 */
function curvePoint(e: Evaluation, metric: string): Omit<CurvePoint, "lap"> | null {
  const value = subsetMean(e.metrics, metric);
  if (value === null) return null;
  // A sweep's seeds give a standard deviation (see _sweep.ts), drawn as the band in its place.
  const se = metricValue(e.metrics, `${metric}_se`) ?? metricValue(e.metrics, `${metric}_sd`);
  return { value, stage: e.stageId, ...(se === null ? {} : { se }) }; // the band is centred on value
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
export async function cornerFigure<E extends Evaluation>(
  job: CornerJob<E>,
  samples: PointMatrix,
  truth: PointMatrix | null,
  opts: CornerFigureOptions,
): Promise<Figure> {
  const name = job.method ?? job.entry.stageId;
  const layers: CornerLayer[] = [];
  if (truth) layers.push({ name: "truth", points: truth, color: TRUTH_COLOR });
  layers.push({
    name: job.method === null ? `${name} samples` : `${name} samples, lap ${job.lap}`,
    points: samples,
    color: opts.color ?? PALETTE[0],
  });
  const m = job.entry.metrics;
  const facts = (["sinkhorn", "mean_error", "cov_error", "outside_box"] as const)
    .map((k) => [k, subsetMean(m, k)] as const)
    .map(([k, v]) => (v === null ? null : `${k} ${formatNumber(v)}`))
    .filter((s) => s !== null);
  const title = job.method === null ? `${name} (baseline)` : `${name} · lap ${job.lap}`;
  const spec = cornerSpec({
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
  const png = await svgToPng(await renderSvg(spec), 1.5);
  return { file, png, caption: title, spec, svg: null };
}

/** File-name-safe form of a method or stage name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "stage";
}
