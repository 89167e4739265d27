/**
 * `report`: what the researcher looks at after a run (docs/design.md §5): the Sinkhorn divergence (and
 * other metrics) over EM laps for each method, corner plots of samples over the truth per lap,
 * and one self-contained `report.html` with every picture embedded and a table of the metrics.
 *
 * Its `evaluations` are evaluate stages, from one or several EM loops (one method per loop) and
 * from outside any loop (baselines, e.g. the Gaussian start), wired as a list:
 *
 * ```yaml
 * report:
 *   task: report
 *   inputs: { evaluations: ["em[*].evaluate", "diffem[*].evaluate", gauss_eval], truth: data }
 *   params: { range: [-3, 3] }
 * ```
 *
 * Outputs: `sinkhorn.png`, `<metric>.png` for the other `curves`, `corner_<method>_lap<k>.png`,
 * `corner_<baseline>.png`, `report.html`.
 *
 * @module
 */
import { z } from "zod";
import type { InputEntry, StageContext, TaskDef } from "../lib/engine/mod.ts";
import type { PointMatrix } from "../lib/plot/mod.ts";
import {
  cornerFigure,
  type CornerJob,
  cornerJobs,
  cornerRanges,
  curveMetrics,
  type Evaluation,
  type Figure,
  groupEvaluations,
  leadingColumns,
  metricCurveFigure,
  renderReportHtml,
  type ReportPage,
  reportSummary,
  seriesColors,
} from "../lib/report/mod.ts";

const params = z.object({
  /** Heading of the HTML page. */
  title: z.string().default("DiEM report"),
  /** Points per sample set in each scatter panel (histograms use every sample of `subset`). */
  max_points: z.number().int().positive().default(1024),
  /** Axis range of every feature in the corner plots (e.g. [-3, 3]); default from the truth. */
  range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, {
    message: "range must be [low, high] with low < high",
  })
    .optional(),
  /**
   * Laps that get corner plots: `auto` (every lap up to 16 laps, else about 15 evenly spaced and
   * the last), `all`, `last`, or a list of lap numbers (negative counts from the end: -1 = last).
   */
  corner_laps: z.union([z.enum(["auto", "all", "last"]), z.array(z.number().int())]).default("auto"),
  /** Corner plots show the first this many features. */
  max_features: z.number().int().positive().default(8),
  /** Log scale for the curves: `auto` when every value is positive and they span a factor of 20. */
  log_y: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /** Metrics drawn as curves over laps (`sinkhorn.png` is always drawn). */
  curves: z.array(z.string()).default(["sinkhorn", "mean_error", "cov_error"]),
});

/** Parameters of the report task, after defaults. `reportTask.params.parse({ range: [-3, 3] })` */
export type ReportParams = z.output<typeof params>;

/** An evaluation handed to lib/report, with the input entry that holds its samples. */
interface EvaluationInput extends Evaluation {
  readonly input: InputEntry;
}

/**
 * An input entry as lib/report sees it. The engine hands the loop and lap but not the body stage's
 * own name, which tells several evaluation stages of one loop apart: it is what follows the
 * `loop[lap].` of the id.
 */
function evaluationOf(e: InputEntry): EvaluationInput {
  return {
    stageId: e.stageId,
    loop: e.loop,
    lap: e.lap,
    stage: e.loop === null ? null : e.name,
    metrics: e.metrics,
    input: e,
  };
}

/** The report being drawn: its stage, and its page so far. */
interface Report extends ReportPage {
  ctx: StageContext<ReportParams>;
  figures: Map<string, Figure>;
  cornerFile: Map<string, string>;
  missing: string[];
}

/** Write a picture as a stage file and keep it for the HTML page. */
async function publish(r: Report, fig: Figure): Promise<void> {
  await r.ctx.writeFile(fig.file, fig.png);
  r.figures.set(fig.file, fig);
  r.ctx.progress.tick(1, fig.file);
}

/** Curves over laps: one line per method, baselines as dashed horizontal lines. */
async function drawCurves(r: Report, metrics: readonly string[]): Promise<void> {
  const opts = { colorOf: r.colorOf, logY: r.ctx.params.log_y };
  for (const metric of metrics) {
    const fig = metricCurveFigure(metric, r.methods, r.baselines, opts);
    if (fig) await publish(r, fig);
    else r.ctx.progress.tick(1);
  }
}

/** The first max_features features of the truth's first 4096 rows, when a truth is wired. */
async function readTruth(truthEntry: InputEntry | null, features: number): Promise<PointMatrix | null> {
  if (!truthEntry?.has("x")) return null;
  const n = truthEntry.arrays.x.shape[0];
  return leadingColumns(await truthEntry.rows("x", 0, Math.min(n, 4096)), features);
}

/**
 * Corner plots: the truth in grey under each job's samples (first max_features features), on
 * shared axes; evaluations without samples are listed as missing.
 */
async function drawCorners(r: Report, jobs: CornerJob<EvaluationInput>[], truth: PointMatrix | null) {
  const p = r.ctx.params;
  const samples = new Map<string, PointMatrix | null>();
  for (const { entry } of jobs) {
    const subset = entry.input.has("subset") ? await entry.input.array("subset") : null;
    samples.set(entry.stageId, subset && leadingColumns(subset, p.max_features));
  }
  const range = p.range ?? cornerRanges(truth, [...samples.values()]);
  const opts = { range, maxPoints: p.max_points, maxFeatures: p.max_features };
  for (const job of jobs) {
    const pts = samples.get(job.entry.stageId);
    if (!pts || !pts.shape[0]) {
      r.missing.push(job.entry.stageId);
      r.ctx.progress.tick(1);
      continue;
    }
    const fig = cornerFigure(job, pts, truth, {
      ...opts,
      color: r.colorOf.get(job.method ?? job.entry.stageId),
    });
    r.cornerFile.set(job.entry.stageId, fig.file);
    await publish(r, fig);
  }
}

/** The report task. `builtinTasks.includes(reportTask)` */
export const reportTask: TaskDef<typeof params> = {
  name: "report",
  version: 1,
  description: "Sinkhorn curves over EM laps, corner plots of samples vs truth, one self-contained HTML page",
  params,
  inputs: {
    evaluations: {
      description: "evaluate stages: every lap of each EM loop (em[*].evaluate), and baselines",
      list: true,
    },
    truth: { description: "a dataset stage with the clean x, drawn under the samples", optional: true },
  },
  async run(ctx) {
    const p = ctx.params;
    const { methods, baselines } = groupEvaluations(ctx.inputList("evaluations").map(evaluationOf));
    const colorOf = seriesColors([...methods.map((m) => m.name), ...baselines.map((b) => b.name)]);
    const truthEntry = ctx.optionalInput("truth");
    const r: Report = {
      ctx,
      title: p.title,
      stageId: ctx.id,
      methods,
      baselines,
      colorOf,
      figures: new Map(),
      cornerFile: new Map(),
      missing: [],
      truth: truthEntry?.stageId ?? null,
    };
    const jobs = cornerJobs(methods, baselines, p.corner_laps);
    const metrics = curveMetrics(p.curves);
    ctx.progress.start(metrics.length + jobs.length + 1, "figure");
    await drawCurves(r, metrics);
    await drawCorners(r, jobs, await readTruth(truthEntry, p.max_features));
    await ctx.writeFile("report.html", new TextEncoder().encode(renderReportHtml(r)));
    ctx.progress.tick(1, "report.html");
    ctx.metrics({ ...reportSummary(methods, baselines, r.figures.size) });
  },
};
