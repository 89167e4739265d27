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

/**
 * Metric `key` as the report draws and summarises it: its mean over the evaluation's disjoint subsets
 * (`<key>_mean`, which `evaluate` writes together with `<key>_se`) where there is one, else its own value.
 * The `_se` sibling is what marks a mean over subsets: `psnr_mean` (the posterior mean's PSNR, no
 * `psnr_se`) is a metric of its own, not the mean of `psnr`.
 *
 * ```ts
 * subsetMean({ sinkhorn: 0.5, sinkhorn_mean: 0.45, sinkhorn_se: 0.02 }, "sinkhorn"); // 0.45
 * subsetMean({ psnr: 14, psnr_mean: 15 }, "psnr"); // 14
 * ```
 */
export function subsetMean(metrics: Record<string, unknown>, key: string): number | null {
  const mean = metricValue(metrics, `${key}_mean`);
  return mean !== null && metricValue(metrics, `${key}_se`) !== null ? mean : metricValue(metrics, key);
}

/**
 * Whether `key` is the bookkeeping of another metric's statistic: a standard error or deviation
 * (`<k>_se`, `<k>_sd`), or a mean over subsets (`<k>_mean` beside its `<k>_se`).
 *
 * ```ts
 * isStatisticOf({ fd: 1, fd_mean: 1, fd_se: 0.1 }, "fd_mean"); // true
 * isStatisticOf({ psnr: 14, psnr_mean: 15 }, "psnr_mean");      // false
 * ```
 */
export function isStatisticOf(metrics: Record<string, unknown>, key: string): boolean {
  if (/_(se|sd)$/.test(key)) return true;
  return key.endsWith("_mean") && metricValue(metrics, `${key.slice(0, -5)}_se`) !== null;
}
