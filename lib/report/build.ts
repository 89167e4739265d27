/**
 * A whole report from plain sources: the evaluations (with a way to read each one's samples) and
 * the truth, drawn into figures and one page written through a sink. The `report` task and
 * `pipeline report` (any time, from whatever the store holds) both draw through here.
 *
 * ```ts
 * const summary = await buildReport(source, { title: "DiEM report", stageId: "report", ...options }, {
 *   writeFile: (name, bytes) => Deno.writeFile(`out/${name}`, bytes),
 *   start: () => {},
 *   tick: () => {},
 * });
 * ```
 *
 * @module
 */
import { type PointMatrix, vegaScripts } from "../plot/mod.ts";
import { cornerJobs, type CornerLapChoice, type Evaluation, groupEvaluations } from "./evaluations.ts";
import {
  cornerFigure,
  cornerRanges,
  curveMetrics,
  type Figure,
  leadingColumns,
  metricCurveFigure,
  seriesColors,
} from "./figures.ts";
import { renderReportHtml } from "./html.ts";
import { aggregateSweep, finalValuesTable } from "./_sweep.ts";
import { type ReportSummary, reportSummary } from "./summary.ts";

/**
 * Where a report's data comes from: the evaluations, each one's samples (its `subset`), the truth.
 *
 * ```ts
 * const source: ReportSource<Evaluation> = { evaluations, samples: () => Promise.resolve(null), truth: null };
 * ```
 */
export interface ReportSource<E extends Evaluation> {
  evaluations: readonly E[];
  /** The samples of an evaluation to draw in its corner plot, or null when it has none. */
  samples(e: E): Promise<PointMatrix | null>;
  /** The truth: its stage id and its first `n` rows; null when none is wired. */
  truth: { stageId: string; rows(n: number): Promise<PointMatrix> } | null;
}

/**
 * How to draw: the report task's parameters, the report's stage id, and an optional note on the page.
 *
 * ```ts
 * const o: ReportOptions = { title: "DiEM report", stageId: "report", max_points: 1024, corner_laps: "auto",
 *   max_features: 8, log_y: "auto", curves: ["sinkhorn"] };
 * ```
 */
export interface ReportOptions {
  title: string;
  stageId: string;
  max_points: number;
  range?: readonly [number, number];
  corner_laps: CornerLapChoice;
  max_features: number;
  log_y: boolean | "auto";
  curves: readonly string[];
  note?: string;
}

/**
 * Where the report goes: its files, and its progress (a total of figures, then a tick per figure).
 *
 * ```ts
 * const sink: ReportSink = { writeFile: (n, b) => Deno.writeFile(n, b), start: () => {}, tick: () => {} };
 * ```
 */
export interface ReportSink {
  writeFile(name: string, bytes: Uint8Array): Promise<void>;
  start(total: number): void;
  tick(info?: string): void;
}

/**
 * Draw the curves, the corner plots and the page; returns the report's summary metrics.
 *
 * ```ts
 * const summary = await buildReport(source, options, sink);
 * summary.final_sinkhorn.em; // the last lap's Sinkhorn divergence
 * ```
 */
export async function buildReport<E extends Evaluation>(
  source: ReportSource<E>,
  opts: ReportOptions,
  sink: ReportSink,
): Promise<ReportSummary> {
  // Across a sweep's seeds: one evaluation per method and lap, mean ± sd (unswept: unchanged).
  const { methods, baselines } = groupEvaluations(aggregateSweep(source.evaluations));
  const colorOf = seriesColors([...methods.map((m) => m.name), ...baselines.map((b) => b.name)]);
  const jobs = cornerJobs(methods, baselines, opts.corner_laps);
  const metrics = curveMetrics(opts.curves);
  sink.start(metrics.length + jobs.length + 1);
  const figures = new Map<string, Figure>();
  const publish = async (fig: Figure) => {
    await sink.writeFile(fig.file, fig.png);
    figures.set(fig.file, fig);
    sink.tick(fig.file);
  };
  for (const metric of metrics) {
    const fig = await metricCurveFigure(metric, methods, baselines, { colorOf, logY: opts.log_y });
    if (fig) await publish(fig);
    else sink.tick();
  }
  // Corner plots: the truth in grey under each job's samples, on shared axes.
  const truth = source.truth && leadingColumns(await source.truth.rows(4096), opts.max_features);
  const samples = new Map<string, PointMatrix | null>();
  for (const { entry } of jobs) {
    const s = await source.samples(entry);
    samples.set(entry.stageId, s && leadingColumns(s, opts.max_features));
  }
  const range = opts.range ?? cornerRanges(truth, [...samples.values()]);
  const cornerFile = new Map<string, string>();
  const missing: string[] = [];
  for (const job of jobs) {
    const pts = samples.get(job.entry.stageId);
    if (!pts || !pts.shape[0]) {
      missing.push(job.entry.stageId);
      sink.tick();
      continue;
    }
    const fig = await cornerFigure(job, pts, truth, {
      range,
      maxPoints: opts.max_points,
      maxFeatures: opts.max_features,
      color: colorOf.get(job.method ?? job.entry.stageId),
    });
    cornerFile.set(job.entry.stageId, fig.file);
    await publish(fig);
  }
  const html = renderReportHtml({
    title: opts.title,
    stageId: opts.stageId,
    methods,
    baselines,
    colorOf,
    figures,
    cornerFile,
    missing,
    truth: source.truth?.stageId ?? null,
    scripts: await vegaScripts(),
    note: opts.note,
    sections: [finalValuesTable(methods, baselines)].filter((s) => s),
  });
  await sink.writeFile("report.html", new TextEncoder().encode(html));
  sink.tick("report.html");
  return reportSummary(methods, baselines, figures.size);
}
