/**
 * Curves of a metric over EM laps as a Vega-Lite spec: one line with points per method (a band of
 * mean ± standard error where the points carry one), baselines as dashed horizontal rules. In the
 * page the spec is interactive: hovering a point shows its lap, value and stage; clicking a legend
 * entry shows that series alone (shift-click for several).
 *
 * ```ts
 * const spec = curveSpec({
 *   title: "Sinkhorn divergence over EM laps", metric: "sinkhorn", logY: true,
 *   series: [{ name: "em", color: "#1f77b4", points: [{ lap: 0, value: 0.4, stage: "em[0].evaluate" }] }],
 *   baselines: [{ name: "gauss_eval", color: "#ff7f0e", value: 0.5, stage: "gauss_eval" }],
 * });
 * await Deno.writeTextFile("sinkhorn.svg", await renderSvg(spec));
 * ```
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import { FONT_FAMILY } from "./_render.ts";

/**
 * One point of a curve: a lap's value, its stage, and optionally a band `mean ± se`.
 *
 * ```ts
 * const p: CurvePoint = { lap: 3, value: 0.12, stage: "em[3].evaluate", mean: 0.11, se: 0.01 };
 * ```
 */
export interface CurvePoint {
  lap: number;
  value: number;
  stage: string;
  /** Centre of the band (default: `value`). */
  mean?: number;
  /** Standard error: the band is mean ± se. */
  se?: number;
}

/**
 * One method's curve.
 *
 * ```ts
 * const s: CurveSeries = { name: "em", color: "#1f77b4", points: [] };
 * ```
 */
export interface CurveSeries {
  name: string;
  color: string;
  points: readonly CurvePoint[];
}

/**
 * A baseline: one value, drawn across every lap.
 *
 * ```ts
 * const b: CurveBaseline = { name: "gauss_eval", color: "#ff7f0e", value: 0.5, stage: "gauss_eval" };
 * ```
 */
export interface CurveBaseline {
  name: string;
  color: string;
  value: number;
  stage: string;
}

/**
 * Options of {@link curveSpec}.
 *
 * ```ts
 * const o: CurveOptions = { title: "Mean error", metric: "mean_error", series, baselines: [], logY: false };
 * ```
 */
export interface CurveOptions {
  title: string;
  subtitle?: string;
  /** The metric's name: the y axis title and the tooltip's label. */
  metric: string;
  series: readonly CurveSeries[];
  baselines: readonly CurveBaseline[];
  logY: boolean;
  /** Size of the plot area in pixels (default 640 × 320). */
  width?: number;
  height?: number;
}

/** One row of the chart's data: a method's point, or a baseline. */
interface CurveRow {
  series: string;
  kind: "method" | "baseline";
  lap: number | null;
  value: number;
  stage: string;
  lo: number | null;
  hi: number | null;
}

function rowsOf(opts: CurveOptions): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const s of opts.series) {
    for (const p of s.points) {
      const centre = p.mean ?? p.value;
      const band = p.se !== undefined && Number.isFinite(p.se) && !(opts.logY && centre - p.se <= 0);
      rows.push({
        series: s.name,
        kind: "method",
        lap: p.lap,
        value: p.value,
        stage: p.stage,
        lo: band ? centre - p.se! : null,
        hi: band ? centre + p.se! : null,
      });
    }
  }
  for (const b of opts.baselines) {
    rows.push({
      series: b.name,
      kind: "baseline",
      lap: null,
      value: b.value,
      stage: b.stage,
      lo: null,
      hi: null,
    });
  }
  return rows;
}

/**
 * The Vega-Lite spec of a metric's curves over EM laps.
 *
 * ```ts
 * const spec = curveSpec({ title: "Sinkhorn", metric: "sinkhorn", series, baselines, logY: false });
 * ```
 */
export function curveSpec(opts: CurveOptions): TopLevelSpec {
  const names = [...opts.series.map((s) => s.name), ...opts.baselines.map((b) => b.name)];
  const colors = [...opts.series.map((s) => s.color), ...opts.baselines.map((b) => b.color)];
  const y = {
    field: "value",
    type: "quantitative" as const,
    title: opts.metric,
    scale: opts.logY ? { type: "log" as const } : { zero: false },
  };
  const color = {
    field: "series",
    type: "nominal" as const,
    title: "method / baseline",
    scale: { domain: names, range: colors },
  };
  const shown = { param: "shown", value: 1 };
  const tooltip = [
    { field: "series", title: "method" },
    { field: "lap", title: "lap" },
    { field: "value", title: opts.metric, format: ".4~g" },
    { field: "stage", title: "stage" },
  ];
  const isMethod = { filter: "datum.kind === 'method'" };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: opts.title, subtitle: opts.subtitle ?? "" },
    width: opts.width ?? 640,
    height: opts.height ?? 320,
    config: { font: FONT_FAMILY },
    data: { values: rowsOf(opts) as unknown as Record<string, unknown>[] },
    encoding: { color },
    layer: [
      {
        transform: [isMethod],
        params: [{ name: "shown", select: { type: "point", fields: ["series"] }, bind: "legend" }],
        mark: { type: "line", point: { filled: true, size: 60 }, tooltip: true },
        encoding: {
          x: { field: "lap", type: "quantitative", title: "EM lap", axis: { tickMinStep: 1, format: "d" } },
          y,
          opacity: { condition: shown, value: 0.12 },
          tooltip,
        },
      },
      {
        transform: [isMethod, { filter: "datum.lo !== null" }],
        mark: { type: "area", opacity: 0.18 },
        encoding: {
          x: { field: "lap", type: "quantitative" },
          y: { ...y, field: "lo" },
          y2: { field: "hi" },
          opacity: { condition: { ...shown, value: 0.18 }, value: 0.03 },
        },
      },
      {
        transform: [{ filter: "datum.kind === 'baseline'" }],
        mark: { type: "rule", strokeDash: [7, 5], strokeWidth: 2, tooltip: true },
        encoding: {
          y,
          opacity: { condition: shown, value: 0.12 },
          tooltip: [tooltip[0], tooltip[2], tooltip[3]],
        },
      },
    ],
  } as TopLevelSpec;
}
