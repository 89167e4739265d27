/**
 * Drawing figures (private): a Vega-Lite spec compiled to Vega and rendered to SVG in Deno without a
 * DOM (Vega's headless `renderer: "none"` view), and an SVG rasterised to PNG by resvg (WebAssembly)
 * with the DejaVu Sans font from npm and no system fonts, so that a PNG is the same on every machine.
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { assetPath } from "./_assets.ts";

/** The one font of every figure: Vega-Lite's config and resvg both name it. */
export const FONT_FAMILY = "DejaVu Sans";

/**
 * A Vega-Lite spec as SVG markup, drawn headlessly.
 *
 * @example
 * ```ts
 * const svg = await renderSvg({ data: { values: [{ a: 1, b: 2 }] }, mark: "point",
 *   encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } } });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let ready: Promise<{ font: Uint8Array }> | null = null;

/** resvg's WebAssembly, initialised once per process, and the font bytes. */
function resvg(): Promise<{ font: Uint8Array }> {
  ready ??= (async () => {
    await initWasm(await Deno.readFile(assetPath("resvg-wasm")));
    return { font: await Deno.readFile(assetPath("font")) };
  })();
  return ready;
}

/**
 * Rasterise SVG markup to PNG bytes, `scale` device pixels per SVG pixel (2 for sharp figures).
 *
 * @example
 * ```ts
 * const png = await svgToPng(await renderSvg(spec), 2);
 * await Deno.writeFile("figure.png", png);
 * ```
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { font } = await resvg();
  const renderer = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { fontBuffers: [font], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    background: "white",
  });
  try {
    const image = renderer.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    renderer.free();
  }
}

/**
 * Width and height of a PNG, from its IHDR chunk.
 *
 * @example
 * ```ts
 * pngSize(png); // { width: 1640, height: 900 }
 * ```
 */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (png.length < 24 || view.getUint32(12) !== 0x49484452) throw new Error("not a PNG file (no IHDR)");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
