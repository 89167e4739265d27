/**
 * The report of an image run: curves of `fd`, `psnr_mean` and `ssim_mean` over EM laps (one line per
 * method, i.e. per EM loop: DiEM and DiffEM side by side; evaluations outside any loop, such as the
 * Gaussian start and the oracle, as dashed horizontal lines), and per lap the image figures each
 * evaluation published (the evaluate stage's `grid`: observations | samples | truth) beside a grid of
 * unconditional samples of that lap's prior. No corner plots: pixels are not features to scatter.
 *
 * ```ts
 * const summary = await buildImageReport(source, { ...options, curves: ["fd", "psnr_mean", "ssim_mean"] }, sink);
 * ```
 *
 * @module
 */
import { imageGrid, type PointMatrix, vegaScripts } from "../plot/mod.ts";
import { type Evaluation, groupEvaluations } from "./evaluations.ts";
import { type Figure, metricCurveFigure, seriesColors } from "./figures.ts";
import { type ImagePage, type PictureFigure, renderImageReportHtml } from "./_image_html.ts";
import { type ReportSummary, reportSummary } from "./summary.ts";
import type { ReportOptions, ReportSink } from "./build.ts";

/** The curves of an image report unless the spec names others. `DEFAULT_IMAGE_CURVES[0] === "fd"` */
export const DEFAULT_IMAGE_CURVES: readonly string[] = ["fd", "psnr_mean", "ssim_mean"];

/**
 * A stage of unconditional prior samples `[N, H, W, C]`, where it sits (loop and lap, or neither).
 *
 * ```ts
 * const p: PriorSamples = { stageId: "diem[2].prior_sample", loop: "diem", lap: 2, rows: (n) => entry.rows("x", 0, n) };
 * ```
 */
export interface PriorSamples {
  stageId: string;
  loop: string | null;
  lap: number | null;
  /** Its first `n` samples (fewer when it has fewer). */
  rows(n: number): Promise<PointMatrix>;
}

/**
 * Where an image report's data comes from: the evaluations, the image figures each one published, and
 * the stages of unconditional prior samples.
 *
 * ```ts
 * const source: ImageReportSource<Evaluation> = { evaluations, figures: () => Promise.resolve([]), priors: [] };
 * ```
 */
export interface ImageReportSource<E extends Evaluation> {
  evaluations: readonly E[];
  /** The PNG figures an evaluation published (e.g. `grid.png`), by file name. */
  figures(e: E): Promise<{ name: string; png: Uint8Array }[]>;
  priors: readonly PriorSamples[];
}

/** File-name-safe form of a method or stage name. */
function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "stage";
}

/** The evaluation's published figures, renamed `<figure>_<method>_lap<k>.png` (or `<figure>_<baseline>.png`). */
async function evaluationPictures<E extends Evaluation>(
  source: ImageReportSource<E>,
  e: E,
  method: string | null,
): Promise<PictureFigure[]> {
  const who = method === null ? safe(e.stageId) : `${safe(method)}_lap${e.lap}`;
  return (await source.figures(e)).map(({ name, png }) => ({
    file: `${safe(name.replace(/\.png$/i, ""))}_${who}.png`,
    png,
    caption: method === null ? `${e.stageId}: ${name}` : `${method} · lap ${e.lap}: ${name}`,
  }));
}

/** A grid of the first 16 unconditional samples of a prior stage (`prior_<loop>_lap<k>.png`). */
async function priorPicture(p: PriorSamples): Promise<PictureFigure> {
  const images = await p.rows(16);
  const where = p.loop === null ? p.stageId : `${p.loop} · lap ${p.lap}`;
  return {
    file: p.loop === null ? `prior_${safe(p.stageId)}.png` : `prior_${safe(p.loop)}_lap${p.lap}.png`,
    png: await imageGrid({ images, columns: 8, range: [-1, 1], title: `prior samples: ${where}` }),
    caption: `Unconditional samples of the prior (${p.stageId}), pixels in [−1, 1]`,
  };
}

/**
 * Draw the curves, the per-lap grids and the page of an image report; returns the summary metrics.
 *
 * ```ts
 * const summary = await buildImageReport(source, { ...opts, curves: DEFAULT_IMAGE_CURVES }, sink);
 * ```
 */
export async function buildImageReport<E extends Evaluation>(
  source: ImageReportSource<E>,
  opts: ReportOptions,
  sink: ReportSink,
): Promise<ReportSummary> {
  const { methods, baselines } = groupEvaluations(source.evaluations);
  const colorOf = seriesColors([...methods.map((m) => m.name), ...baselines.map((b) => b.name)]);
  const laps = methods.reduce((a, m) => a + m.laps.length, 0);
  sink.start(opts.curves.length + laps + baselines.length + source.priors.length + 1);
  const curves: Figure[] = [];
  for (const metric of opts.curves) {
    const fig = await metricCurveFigure(metric, methods, baselines, { colorOf, logY: opts.log_y });
    if (fig) {
      await sink.writeFile(fig.file, fig.png);
      curves.push(fig);
    }
    sink.tick(fig?.file);
  }
  const pictures = new Map<string, PictureFigure[]>();
  const publish = async (key: string, figs: PictureFigure[]) => {
    for (const f of figs) await sink.writeFile(f.file, f.png);
    pictures.set(key, [...(pictures.get(key) ?? []), ...figs]);
    sink.tick(figs[0]?.file);
  };
  for (const b of baselines) await publish(b.entry.stageId, await evaluationPictures(source, b.entry, null));
  for (const m of methods) {
    for (const l of m.laps) await publish(l.entry.stageId, await evaluationPictures(source, l.entry, m.name));
  }
  for (const p of source.priors) await publish(p.stageId, [await priorPicture(p)]);
  const page: ImagePage = {
    title: opts.title,
    stageId: opts.stageId,
    methods,
    baselines,
    colorOf,
    curves,
    pictures,
    priors: source.priors,
    scripts: await vegaScripts(),
    note: opts.note,
  };
  await sink.writeFile("report.html", new TextEncoder().encode(renderImageReportHtml(page)));
  sink.tick("report.html");
  const drawn = curves.length + [...pictures.values()].reduce((a, f) => a + f.length, 0);
  return reportSummary(methods, baselines, drawn, ["fd", "psnr_mean", "ssim_mean"]);
}
