/**
 * Dependency-free raster plots written as PNG: corner plots of vector samples, metric curves over
 * EM laps, image grids. The public surface of lib/plot: import from here, never from the `_*.ts`
 * files (the canvas, font, axes and PNG codec behind the figures).
 *
 * ```ts
 * import { cornerPlot, lineChart } from "./lib/plot/mod.ts";
 * await Deno.writeFile("s.png", lineChart({ series: [{ name: "em", points: [[0, 1], [1, 0.5]] }] }).toPng());
 * ```
 *
 * @module
 */
export * from "./corner_plot.ts";
export * from "./image_grid.ts";
export * from "./line_chart.ts";
export { Canvas, type LineOptions, type MarkerShape, type Rect, type TextOptions } from "./_canvas.ts";
export { BLACK, type Color, PALETTE, parseColor, WHITE } from "./_color.ts";
export {
  autoTicks,
  formatNumber,
  formatTick,
  logTicks,
  niceNumber,
  niceTicks,
  type Scale,
  tickFormatter,
  type Ticks,
} from "./_axes.ts";
export { GLYPH_ADVANCE, hasGlyph } from "./_font.ts";
export { type PointMatrix, robustRanges } from "./_points.ts";
export {
  type Channels,
  crc32,
  decodePng,
  encodePng,
  PNG_SIGNATURE,
  type PngChunk,
  type PngHeader,
  type RasterImage,
  readPngChunks,
  readPngHeader,
} from "./_png.ts";
