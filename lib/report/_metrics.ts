/**
 * The metrics a report knows by name: their order in the table, their titles, the bookkeeping ones
 * it hides, and reading one as a finite number.
 *
 * ```ts
 * metricValue({ sinkhorn: 0.02 }, "sinkhorn"); // 0.02
 * METRIC_TITLE.sinkhorn;                       // "Sinkhorn divergence"
 * ```
 *
 * @module
 */

/** Known metrics in the order of the table's columns; others follow, sorted. `METRIC_ORDER.indexOf("sinkhorn") === 0` */
export const METRIC_ORDER: readonly string[] = [
  "sinkhorn",
  "sinkhorn_next",
  "mean_error",
  "cov_error",
  "cov_rel_error",
  "outside_box",
  "residual_rms",
  "residual_over_sigma",
  "fd",
  "psnr_mean",
  "ssim_mean",
  "psnr",
  "ssim",
];

/** Bookkeeping of the Sinkhorn solver, not a column of the table. `METRIC_HIDDEN.has("sinkhorn_m")` */
export const METRIC_HIDDEN: ReadonlySet<string> = new Set([
  "sinkhorn_m",
  "sinkhorn_iterations",
  "sinkhorn_converged",
]);

/** Titles of the known metrics, for charts and captions. `METRIC_TITLE[metric] ?? metric` */
export const METRIC_TITLE: Readonly<Record<string, string>> = {
  sinkhorn: "Sinkhorn divergence",
  sinkhorn_next: "Sinkhorn (next m samples)",
  mean_error: "Mean error",
  cov_error: "Covariance error",
  cov_rel_error: "Relative covariance error",
  outside_box: "Fraction outside the box",
  residual_rms: "Residual RMS",
  residual_over_sigma: "Residual RMS / σ_y",
  fd: "Fréchet distance (classifier features)",
  psnr_mean: "PSNR of the posterior mean (dB)",
  ssim_mean: "SSIM of the posterior mean",
  psnr: "PSNR of the posterior samples (dB)",
  ssim: "SSIM of the posterior samples",
};

/**
 * Metric `key` when it is a finite number, else null.
 *
 * ```ts
 * metricValue({ sinkhorn: NaN }, "sinkhorn"); // null
 * ```
 */
export function metricValue(metrics: Record<string, unknown>, key: string): number | null {
  const v = metrics[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
