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
import type { InputEntry, TaskDef } from "../lib/engine/mod.ts";
import { buildReport, type Evaluation, type ReportSource } from "../lib/report/mod.ts";

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
    member: e.member ?? "",
    input: e,
  };
}

/**
 * The report's data from its input entries: each evaluation's `subset` of samples, and the truth's `x`.
 *
 * ```ts
 * const source = reportSource(ctx.inputList("evaluations"), ctx.optionalInput("truth"));
 * ```
 */
export function reportSource(
  evaluations: readonly InputEntry[],
  truth: InputEntry | null,
): ReportSource<EvaluationInput> {
  return {
    evaluations: evaluations.map(evaluationOf),
    samples: (e) => e.input.has("subset") ? e.input.array("subset") : Promise.resolve(null),
    truth: truth?.has("x")
      ? { stageId: truth.stageId, rows: (n) => truth.rows("x", 0, Math.min(n, truth.arrays.x.shape[0])) }
      : null,
  };
}

/** The report task. `builtinTasks.includes(reportTask)` */
export const reportTask: TaskDef<typeof params> = {
  name: "report",
  version: 2,
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
    const source = reportSource(ctx.inputList("evaluations"), ctx.optionalInput("truth"));
    const summary = await buildReport(source, { ...ctx.params, stageId: ctx.id }, {
      writeFile: (name, bytes) => ctx.writeFile(name, bytes),
      start: (total) => ctx.progress.start(total, "figure"),
      tick: (info) => ctx.progress.tick(1, info),
    });
    ctx.metrics({ ...summary });
  },
};
