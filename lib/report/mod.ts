/**
 * The report of a run, from plain data (evaluations with their metrics, sample matrices): the
 * evaluations grouped into methods and baselines, a chart per metric over EM laps, corner plots of
 * samples over the truth, and one self-contained HTML page. Knows nothing of the engine: the
 * `report` task reads the stages and hands their data here.
 *
 * ```ts
 * import { curveMetrics, groupEvaluations, metricCurveFigure, seriesColors } from "./lib/report/mod.ts";
 * const { methods, baselines } = groupEvaluations(evaluations);
 * const colorOf = seriesColors([...methods.map((m) => m.name), ...baselines.map((b) => b.name)]);
 * for (const metric of curveMetrics(["mean_error"])) {
 *   const fig = metricCurveFigure(metric, methods, baselines, { colorOf, logY: "auto" });
 *   if (fig) await Deno.writeFile(fig.file, fig.png);
 * }
 * ```
 *
 * @module
 */
export * from "./evaluations.ts";
export * from "./figures.ts";
export * from "./html.ts";
export * from "./summary.ts";
export * from "./build.ts";
export * from "./images.ts";
