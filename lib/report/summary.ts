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
import { metricValue } from "./_metrics.ts";

/**
 * The metrics of a report.
 *
 * ```ts
 * const s: ReportSummary = { final_sinkhorn: { em: 0.01 }, laps: { em: 10 }, figures: 12 };
 * ```
 */
export interface ReportSummary {
  /** The last lap's Sinkhorn divergence of each method, and each baseline's (null where missing). */
  final_sinkhorn: Record<string, number | null>;
  /** Across a sweep's seeds: the standard deviation of each final Sinkhorn divergence (absent otherwise). */
  final_sinkhorn_sd?: Record<string, number>;
  /** Laps per method. */
  laps: Record<string, number>;
  /** Pictures drawn. */
  figures: number;
}

/**
 * Summarise a report's methods and baselines.
 *
 * ```ts
 * reportSummary(methods, baselines, 5).final_sinkhorn.em;
 * ```
 */
export function reportSummary(
  methods: readonly MethodRuns<Evaluation>[],
  baselines: readonly Baseline<Evaluation>[],
  figures: number,
): ReportSummary {
  const finalSinkhorn: Record<string, number | null> = {};
  for (const m of methods) {
    finalSinkhorn[m.name] = metricValue(m.laps[m.laps.length - 1].entry.metrics, "sinkhorn");
  }
  for (const b of baselines) finalSinkhorn[b.name] = metricValue(b.entry.metrics, "sinkhorn");
  const sd = Object.fromEntries(
    [
      ...methods.map((m) => [m.name, m.laps[m.laps.length - 1].entry] as const),
      ...baselines.map((b) => [b.name, b.entry] as const),
    ]
      .flatMap(([name, e]) => {
        const v = metricValue(e.metrics, "sinkhorn_sd");
        return v === null ? [] : [[name, v]];
      }),
  );
  return {
    final_sinkhorn: finalSinkhorn,
    ...(Object.keys(sd).length ? { final_sinkhorn_sd: sd } : {}),
    laps: Object.fromEntries(methods.map((m) => [m.name, m.laps.length])),
    figures,
  };
}
