/**
 * Moment helpers: exact values on hand-made samples (1e-12), errors against given moments, and
 * the box fraction (exact counts).
 */
import { fractionOutsideBox, momentErrors, rowsInsideBox, sampleMoments } from "../lib/metrics/mod.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12;

Deno.test("metrics_moments: sample moments and errors", () => {
  // Points (0,0), (2,0), (0,2), (2,2): mean (1,1), covariance diag(1,1).
  const x = { shape: [4, 2], data: Float32Array.of(0, 0, 2, 0, 0, 2, 2, 2) };
  const { mean, cov } = sampleMoments(x);
  assert(close(mean[0], 1) && close(mean[1], 1), `mean ${mean}`);
  assert([1, 0, 0, 1].every((v, i) => close(cov.data[i], v)), `cov ${cov.data}`);
  const e = momentErrors(x, { mean: [1, 2], cov: { rows: 2, cols: 2, data: Float64Array.of(1, 0, 0, 2) } });
  assert(close(e.meanError, 1), `mean error ${e.meanError}`);
  assert(close(e.covError, 1), `cov error ${e.covError}`);
  assert(close(e.covRelError, 1 / Math.sqrt(5)), `relative cov error ${e.covRelError}`);
  assert(momentErrors(x, x).meanError === 0, "zero error against itself");
});

Deno.test("metrics_moments: fraction outside the box", () => {
  const x = { shape: [5, 2], data: Float32Array.of(0, 0, 3, 0, -2.9, 2.9, NaN, 0, 0, -10) };
  assert(close(fractionOutsideBox(x), 3 / 5), `fraction ${fractionOutsideBox(x)}`);
  assert(fractionOutsideBox(x, -2.8, 3) === 4 / 5, "a bound cuts the rows it excludes");
  assert(fractionOutsideBox(x, -20, 20) === 1 / 5, "NaN rows count as outside");
  // The rows training keeps are the same test: the open box, NaN outside.
  assert(rowsInsideBox(x).join() === "0,2", `inside ${rowsInsideBox(x)}`);
  assert(rowsInsideBox(x, -20, 20).join() === "0,1,2,4", `inside ${rowsInsideBox(x, -20, 20)}`);
});
