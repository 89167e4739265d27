/**
 * Benchmarks of the report's figures (lib/plot on Vega-Lite, resvg):
 *
 * - `report.corner_figure_s`: one corner plot of the default pipeline's size (5 features, 1024 truth and
 *   1024 sample points per panel): Vega-Lite spec → SVG (Vega, headless) → PNG (resvg, scale 1.5).
 * - `report.curve_figure_ms`: one Sinkhorn curve (two methods of 16 laps, a baseline) → SVG → PNG (scale 2).
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { cornerSpec, curveSpec, renderSvg, svgToPng } from "../lib/plot/mod.ts";

/** Points on a curve of R^d with some scatter, as the manifold's samples look. */
function curvePoints(n: number, d: number, spread: number): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      data[i * d + j] = Math.sin(i * 0.01 * (j + 1)) * 1.8 + spread * Math.cos(i * 7.1 + j);
    }
  }
  return { shape: [n, d], data };
}

/** The report figures' benchmarks. */
export const benchmarks: Benchmark[] = [
  {
    name: "report.corner_figure_s",
    unit: "s",
    reps: 3,
    measure: async () => {
      const spec = cornerSpec({
        title: "em · lap 15",
        layers: [
          { name: "truth", points: curvePoints(4096, 5, 0), color: "#3a3a3a" },
          { name: "em samples, lap 15", points: curvePoints(2048, 5, 0.3), color: "#1f77b4" },
        ],
        range: [-3, 3],
        maxPoints: 1024,
        maxFeatures: 8,
      });
      const t0 = performance.now();
      await svgToPng(await renderSvg(spec), 1.5);
      return (performance.now() - t0) / 1000;
    },
  },
  {
    name: "report.curve_figure_ms",
    unit: "ms",
    measure: async () => {
      const series = ["em", "diffem"].map((name, m) => ({
        name,
        color: m ? "#ff7f0e" : "#1f77b4",
        points: Array.from(
          { length: 16 },
          (_, k) => ({ lap: k, value: (1 + m) / (k + 1), stage: `${name}[${k}]` }),
        ),
      }));
      const spec = curveSpec({
        title: "Sinkhorn divergence over EM laps",
        metric: "sinkhorn",
        series,
        baselines: [{ name: "gauss_eval", color: "#2ca02c", value: 2.1, stage: "gauss_eval" }],
        logY: true,
      });
      const t0 = performance.now();
      await svgToPng(await renderSvg(spec), 2);
      return performance.now() - t0;
    },
  },
];
