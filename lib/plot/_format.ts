/**
 * Numbers as figures and tables print them (private).
 *
 * @module
 */

/**
 * `v` to `digits` significant digits, in exponent form outside [1e-3, 1e5), with a true minus sign.
 *
 * @example
 * ```ts
 * formatNumber(0.000123456); // "1.235e−4"
 * formatNumber(3.14159, 3);  // "3.14"
 * ```
 */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const abs = Math.abs(v);
  let s: string;
  if (abs >= 1e5 || abs < 1e-3) {
    const [m, e] = v.toExponential(digits - 1).split("e");
    s = `${m.replace(/\.?0+$/, "")}e${Number(e)}`;
  } else {
    s = String(Number(v.toPrecision(digits)));
  }
  return s.replace(/-/g, "−");
}

/** Vega's "category10" colours, the palette of methods and baselines, in turn. `PALETTE[0] === "#1f77b4"` */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
