/**
 * Figures as Vega-Lite specs, drawn by Vega: curves of metrics over EM laps and corner plots of
 * samples (interactive in a page through vega-embed), rendered to SVG in Deno without a DOM and to
 * PNG by resvg with a font from npm; image grids as PNG (fast-png). The public surface of lib/plot:
 * import from here, never from the `_*.ts` files.
 *
 * ```ts
 * import { curveSpec, renderSvg, svgToPng } from "./lib/plot/mod.ts";
 * const svg = await renderSvg(curveSpec({ title: "Sinkhorn", metric: "sinkhorn", series, baselines: [], logY: true }));
 * await Deno.writeFile("sinkhorn.png", await svgToPng(svg));
 * ```
 *
 * @module
 */
export * from "./corner.ts";
export * from "./curves.ts";
export * from "./image_grid.ts";
export { vegaScripts } from "./_assets.ts";
export { formatNumber, PALETTE } from "./_format.ts";
export { type PointMatrix, robustRanges } from "./_points.ts";
export { FONT_FAMILY, pngSize, renderSvg, svgToPng } from "./_render.ts";
export { decode as decodePng } from "fast-png";
