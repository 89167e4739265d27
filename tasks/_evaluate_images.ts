/**
 * `evaluate` on images (samples `x [N, H, W, C]`, docs/design.md, evaluation):
 * - `fd`: the Fréchet distance between the evaluator's penultimate features of all samples and of all the
 *   `reference` clean test images; `fd_mean` ± `fd_se` over R disjoint blocks of m rows (block r of the
 *   samples against block r of the reference, m = ⌊min(N, N_ref) / R⌋; a smaller m biases FD upwards, so
 *   compare like with like); `fd_truth`: the same FD for the hidden truth's own images (what perfect samples
 *   would score at this sample size);
 * - `psnr`, `ssim`: the means over observations of the per-image PSNR and SSIM of sample i against truth
 *   row i (data range 2); `psnr_mean`, `ssim_mean` of the posterior mean (the samples stage's `mean`, the
 *   average of its `draws`) when it has one;
 * - a figure `grid.png`: for the first `grid_rows` observations (always the same ones), a row of Aᵀy, a row
 *   of samples, the posterior mean and the truth where there are such.
 *
 * @module
 */
import { classifyImages } from "../lib/nn/mod.ts";
import { frechetDistance, meanAndStandardError, psnr, ssim } from "../lib/metrics/mod.ts";
import { imageGrid } from "../lib/plot/mod.ts";
import { type InputEntry, type StageContext, StageMismatchError } from "../lib/engine/mod.ts";
import { type NDArray, sliceRows } from "../lib/array.ts";
import { useBackend } from "./_backend.ts";
import { evaluatorOf, loadEvaluator } from "./_evaluator.ts";
import { readObservations } from "./_observations.ts";

/** The parameters of `evaluate` the image branch reads. */
export type ImageEvaluationParams = {
  subsets: number;
  grid_rows?: number;
};

const mean = (values: Float64Array) => values.reduce((a, b) => a + b, 0) / values.length;

/** The input `name`, which image evaluation needs, or an error that says what to wire. */
function required(ctx: StageContext<ImageEvaluationParams>, name: string, what: string): InputEntry {
  const entry = ctx.optionalInput(name);
  if (!entry) throw new StageMismatchError(`evaluate on images needs input ${name}: ${what}`);
  return entry;
}

/** The Fréchet distances of the samples' features to the reference features (see the module). */
function frechetMetrics(
  samples: NDArray,
  reference: NDArray,
  truth: NDArray | null,
  subsets: number,
): Record<string, number> {
  const metrics: Record<string, number> = { fd: frechetDistance(samples, reference) };
  if (truth) metrics.fd_truth = frechetDistance(truth, reference);
  const m = Math.floor(Math.min(samples.shape[0], reference.shape[0]) / Math.max(subsets, 1));
  if (subsets >= 2 && m >= 2) {
    const values = Array.from(
      { length: subsets },
      (_, r) =>
        frechetDistance(sliceRows(samples, r * m, (r + 1) * m), sliceRows(reference, r * m, (r + 1) * m)),
    );
    const stat = meanAndStandardError(values);
    Object.assign(metrics, { fd_mean: stat.mean, fd_se: stat.se, fd_subsets: subsets, fd_m: m });
  }
  return metrics;
}

/** Rows [0, k) of images, as `[k, H, W, C]`. */
const head = (a: NDArray, k: number) => sliceRows(a, 0, k);

/** The grid figure: one row per kind of image (Aᵀy, samples, posterior mean, truth) for the first k rows. */
async function writeGrid(
  ctx: StageContext<ImageEvaluationParams>,
  rows: { label: string; images: NDArray }[],
  k: number,
): Promise<void> {
  const [, h, w, c] = rows[0].images.shape;
  const data = new Float32Array(rows.length * k * h * w * c);
  rows.forEach((r, i) => data.set(head(r.images, k).data, i * k * h * w * c));
  const png = await imageGrid({
    images: { shape: [rows.length * k, h, w, c], data },
    columns: k,
    rowLabels: rows.map((r) => r.label),
    range: [-1, 1],
    title: ctx.lap !== null ? `${ctx.loop ?? "lap"} ${ctx.lap}` : ctx.id,
  });
  await ctx.writeFile("grid.png", png);
}

/**
 * The image metrics of `samples` `[N, H, W, C]` and the grid figure (see the module's description).
 *
 * @example
 * ```ts
 * Object.assign(metrics, await imageMetrics(ctx, samples));
 * ```
 */
export async function imageMetrics(
  ctx: StageContext<ImageEvaluationParams>,
  samples: NDArray,
): Promise<Record<string, unknown>> {
  const n = samples.shape[0];
  const eventShape = samples.shape.slice(1);
  const evaluatorEntry = required(
    ctx,
    "evaluator",
    "a fit-evaluator stage (the classifier whose features FD compares)",
  );
  const reference = await required(ctx, "reference", "a dataset stage with the clean test images").array("x");
  const described = evaluatorOf(evaluatorEntry)?.event_shape;
  if (described && described.join(",") !== eventShape.join(",")) {
    throw new StageMismatchError(
      `evaluate: samples have event shape [${eventShape}], the evaluator ${evaluatorEntry.stageId} takes [${described}]`,
    );
  }
  const truthEntry = ctx.optionalInput("truth");
  const truth = truthEntry ? await truthEntry.array("x") : null;
  if (truth && truth.shape[0] < n) {
    throw new StageMismatchError(
      `evaluate: ${n} samples but only ${truth.shape[0]} truth images (${truthEntry!.stageId})`,
    );
  }
  const posteriorMean = ctx.input("samples").has("mean") ? await ctx.input("samples").array("mean") : null;

  await useBackend(ctx);
  const net = await loadEvaluator(evaluatorEntry);
  const metrics: Record<string, unknown> = {};
  try {
    ctx.progress.start(truth ? 3 : 2, "feature set", 0, "features");
    const features = (a: NDArray) => {
      const f = classifyImages(net, a).features;
      ctx.progress.tick(1);
      return f;
    };
    const sampleFeatures = features(samples), referenceFeatures = features(reference);
    const truthFeatures = truth ? features(head(truth, n)) : null;
    Object.assign(
      metrics,
      frechetMetrics(sampleFeatures, referenceFeatures, truthFeatures, ctx.params.subsets),
    );
  } finally {
    net.dispose();
  }
  if (truth) {
    const t = head(truth, n);
    Object.assign(metrics, { psnr: mean(psnr(samples, t)), ssim: mean(ssim(samples, t)) });
    if (posteriorMean) {
      Object.assign(metrics, {
        psnr_mean: mean(psnr(posteriorMean, t)),
        ssim_mean: mean(ssim(posteriorMean, t)),
      });
    }
  }
  const k = Math.min(n, ctx.params.grid_rows ?? 8);
  const rows: { label: string; images: NDArray }[] = [];
  const obsEntry = ctx.optionalInput("obs");
  if (obsEntry) {
    const obs = await readObservations(obsEntry);
    const part = head(obs.y, k);
    rows.push({
      label: "Aᵀy",
      images: obs.family.adjointHost(part, obs.family.sliceParams(obs.params, 0, k)),
    });
  }
  rows.push({ label: "sample", images: samples });
  if (posteriorMean) rows.push({ label: "mean", images: posteriorMean });
  if (truth) rows.push({ label: "truth", images: truth });
  await writeGrid(ctx, rows, k);
  return metrics;
}
