/**
 * Dependency-free raster plots written as PNG: corner plots of vector samples, metric curves over
 * EM laps, image grids. Re-exports the pieces for tasks and researchers' plugins.
 *
 * ```ts
 * import { cornerPlot, lineChart } from "./lib/plot/mod.ts";
 * await Deno.writeFile("s.png", lineChart({ series: [{ name: "em", points: [[0, 1], [1, 0.5]] }] }).toPng());
 * ```
 *
 * @module
 */
export * from "./axes.ts";
export * from "./canvas.ts";
export * from "./corner.ts";
export * from "./curves.ts";
export * from "./font.ts";
export * from "./grid.ts";
export * from "./png.ts";
