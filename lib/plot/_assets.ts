/**
 * Files the plots need from their npm packages (private): the browser builds of Vega, Vega-Lite and
 * vega-embed that the report page inlines, resvg's WebAssembly, and the DejaVu Sans font every PNG is
 * drawn with (shipped in an npm package, so that text renders the same on every machine). Located
 * through Node's resolver, as the packages' `exports` do not list these files.
 *
 * @module
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The folder of the file a package's main entry resolves to (`vega` → `…/vega/build`). */
function buildDir(pkg: string): string {
  const main = require.resolve(pkg);
  return main.slice(0, main.lastIndexOf("/"));
}

/** Paths of the assets, resolved once. `assetPath("font")` */
export function assetPath(name: "vega" | "vega-lite" | "vega-embed" | "resvg-wasm" | "font"): string {
  switch (name) {
    case "vega":
      return `${buildDir("vega")}/vega.min.js`;
    case "vega-lite":
      return `${buildDir("vega-lite")}/vega-lite.min.js`;
    case "vega-embed":
      return `${buildDir("vega-embed")}/vega-embed.min.js`;
    case "resvg-wasm":
      return require.resolve("@resvg/resvg-wasm/index_bg.wasm");
    case "font":
      return require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
  }
}

/**
 * The scripts a page needs to draw Vega-Lite specs offline, in load order (vega, vega-lite, vega-embed).
 *
 * @example
 * ```ts
 * const scripts = await vegaScripts(); // three minified browser builds, ~0.9 MB together
 * ```
 */
export async function vegaScripts(): Promise<string[]> {
  const texts = await Promise.all(
    (["vega", "vega-lite", "vega-embed"] as const).map((p) => Deno.readTextFile(assetPath(p))),
  );
  // The page is self-contained: no links to source maps that are not in it.
  return texts.map((t) => t.replace(/^\/\/# sourceMappingURL=.*$/gm, ""));
}
