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
 * Images (an evaluation published a PNG figure or holds `[N, H, W, C]` arrays, or `prior_samples` are
 * wired): `fd.png`, `psnr_mean.png`, `ssim_mean.png` (one line per loop, baselines dashed), each
 * evaluation's figures as `<figure>_<method>_lap<k>.png` / `<figure>_<baseline>.png`, a grid of each
 * `prior_samples` stage's first 16 samples as `prior_<loop>_lap<k>.png`, and `report.html`:
 *
 * ```yaml
 * report:
 *   task: report
 *   inputs:
 *     evaluations: [gauss_evaluate, oracle_evaluate, "diem[*].evaluate", "diffem[*].evaluate"]
 *     prior_samples: ["diem[*].prior_sample"]
 * ```
 *
 * @module
 */
import { z } from "zod";
import { type InputEntry, StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
import {
  buildImageReport,
  buildReport,
  DEFAULT_IMAGE_CURVES,
  type Evaluation,
  type PriorSamples,
  type ReportOptions,
  type ReportSink,
  type ReportSource,
  type ReportSummary,
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
  /**
   * Metrics drawn as curves over laps: default `sinkhorn, mean_error, cov_error` for vectors (`sinkhorn.png`
   * is always drawn), `fd, psnr_mean, ssim_mean` for images.
   */
  curves: z.array(z.string()).optional(),
});

/** The vector report's curves unless the spec names others. */
const DEFAULT_VECTOR_CURVES = ["sinkhorn", "mean_error", "cov_error"];

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

/**
 * Whether an evaluation is of images: it published an image figure (the evaluate stage's `grid`), or
 * one of its arrays is a batch of images `[N, H, W, C]`. What the stage wrote decides, not its name.
 */
function isImageEvaluation(e: InputEntry): boolean {
  return e.files.some((f) => f.toLowerCase().endsWith(".png")) ||
    Object.values(e.arrays).some((a) => a.shape.length === 4);
}

/**
 * Draw the report of `evaluations` (with the truth, and stages of unconditional prior samples): the image
 * report when the evaluations are of images (or prior samples are wired), else the vector report (curves,
 * corner plots). The `report` task and `pipeline report` both draw through here.
 *
 * ```ts
 * await drawReport(ctx.inputList("evaluations"), ctx.optionalInput("truth"), [], { ...ctx.params, stageId }, sink);
 * ```
 */
export function drawReport(
  evaluations: readonly InputEntry[],
  truth: InputEntry | null,
  priors: readonly InputEntry[],
  params: ReportParams & { stageId: string; note?: string },
  sink: ReportSink,
): Promise<ReportSummary> {
  const images = priors.length > 0 || evaluations.some(isImageEvaluation);
  const opts: ReportOptions = {
    ...params,
    curves: params.curves ?? (images ? DEFAULT_IMAGE_CURVES : DEFAULT_VECTOR_CURVES),
  };
  if (!images) return buildReport(reportSource(evaluations, truth), opts, sink);
  const samples: PriorSamples[] = priors.map((p) => {
    if (!p.has("x")) throw new StageMismatchError(`prior_samples: stage ${p.stageId} has no samples x`);
    return {
      stageId: p.stageId,
      loop: p.loop,
      lap: p.lap,
      rows: (n) => p.rows("x", 0, Math.min(n, p.arrays.x.shape[0])),
    };
  });
  return buildImageReport(
    {
      evaluations: evaluations.map(evaluationOf),
      figures: (e) =>
        Promise.all(
          e.input.files.filter((f) => f.toLowerCase().endsWith(".png")).map(async (name) => ({
            name,
            png: await e.input.file(name),
          })),
        ),
      priors: samples,
    },
    opts,
    sink,
  );
}

/** The report task. `builtinTasks.includes(reportTask)` */
export const reportTask: TaskDef<typeof params> = {
  name: "report",
  // 4: a sweep's shared baselines at their mean over subsets; 5: every line, table mark and final figure at
  // the mean over subsets (the papers' single number stays in the table), psnr_mean no longer read as psnr's mean.
  version: 5,
  description:
    "curves over EM laps (Sinkhorn; FD, PSNR, SSIM for images), corner plots or image grids per lap, one HTML page",
  params,
  inputs: {
    evaluations: {
      description: "evaluate stages: every lap of each EM loop (em[*].evaluate), and baselines",
      list: true,
    },
    truth: { description: "a dataset stage with the clean x, drawn under the samples", optional: true },
    prior_samples: {
      description:
        "images: stages of unconditional prior samples (sample-posterior, unconditional: true), a grid per lap",
      list: true,
      optional: true,
    },
  },
  async run(ctx) {
    const evaluations = ctx.inputList("evaluations"), priors = ctx.inputList("prior_samples");
    const params = { ...ctx.params, stageId: ctx.id };
    const summary = await drawReport(evaluations, ctx.optionalInput("truth"), priors, params, {
      writeFile: (name, bytes) => ctx.writeFile(name, bytes),
      start: (total) => ctx.progress.start(total, "figure"),
      tick: (info) => ctx.progress.tick(1, info),
    });
    ctx.metrics({ ...summary });
  },
};
