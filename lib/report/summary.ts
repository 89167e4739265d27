/**
 * The report stage's own metrics: each method's and baseline's final Sinkhorn divergence, each
 * method's number of laps, and how many pictures were drawn.
 *
 * ```ts
 * ctx.metrics(reportSummary(methods, baselines, figures.size));
 * ```
 *
 * @module
 */
import type { Baseline, Evaluation, MethodRuns } from "./evaluations.ts";
import { metricValue, subsetMean } from "./_metrics.ts";

/**
 * The metrics of a report.
 *
 * ```ts
 * const s: ReportSummary = { final_sinkhorn: { em: 0.01 }, laps: { em: 10 }, figures: 12 };
 * ```
 */
export interface ReportSummary {
  /**
   * The last lap's Sinkhorn divergence per method and baseline, its mean over subsets where it has one (null
   * where missing).
   */
  final_sinkhorn?: Record<string, number | null>;
  /** Images: the last lap's FD, and PSNR and SSIM of the posterior mean. */
  final_fd?: Record<string, number | null>;
  final_psnr_mean?: Record<string, number | null>;
  final_ssim_mean?: Record<string, number | null>;
  /** Across a sweep's seeds: the standard deviation of each final Sinkhorn divergence (absent otherwise). */
  final_sinkhorn_sd?: Record<string, number>;
  /** Laps per method. */
  laps: Record<string, number>;
  /** Pictures drawn. */
  figures: number;
}

/**
 * Summarise a report's methods and baselines: the last lap's `headline` metrics (the Sinkhorn divergence for
 * vectors; FD, PSNR and SSIM for images) per method and baseline, the laps and the figures drawn.
 *
 * ```ts
 * reportSummary(methods, baselines, 5).final_sinkhorn.em;
 * ```
 */
export function reportSummary(
  methods: readonly MethodRuns<Evaluation>[],
  baselines: readonly Baseline<Evaluation>[],
  figures: number,
  headline: readonly string[] = ["sinkhorn"],
): ReportSummary {
  const runs = [
    ...methods.map((m) => [m.name, m.laps[m.laps.length - 1].entry] as const),
    ...baselines.map((b) => [b.name, b.entry] as const),
  ];
  const finals: Record<string, Record<string, number | null>> = {};
  for (const metric of headline) {
    finals[`final_${metric}`] = Object.fromEntries(
      runs.map(([name, e]) => [name, subsetMean(e.metrics, metric)]),
    );
  }
  const sd = Object.fromEntries(
    runs.flatMap(([name, e]) => {
      const v = metricValue(e.metrics, "sinkhorn_sd");
      return v === null ? [] : [[name, v]];
    }),
  );
  return {
    ...finals,
    ...(Object.keys(sd).length ? { final_sinkhorn_sd: sd } : {}),
    laps: Object.fromEntries(methods.map((m) => [m.name, m.laps.length])),
    figures,
  } as ReportSummary;
}
