/**
 * The interactive layer of the report page (private): each figure is a block that shows its static
 * picture (inline SVG for curves, the PNG for corner plots) without JavaScript, and that vega-embed
 * replaces with the live view of the figure's Vega-Lite spec when scripts run — curves at once,
 * corner plots (thousands of points each) when asked for with their "Explore" button. Vega,
 * Vega-Lite and vega-embed are inlined, so that the page works offline.
 *
 * @module
 */
import { pngSize } from "../plot/mod.ts";
import type { Figure } from "./figures.ts";

/** HTML-escaped text. `escapeHtml("a<b") === "a&lt;b"` */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A PNG picture as an inline image, titled by its file name.
 *
 * ```ts
 * inlineImage({ file: "grid.png", png, caption: "lap 3" }); // <img src="data:image/png;base64,…">
 * ```
 */
export function inlineImage(fig: Pick<Figure, "file" | "png" | "caption">): string {
  const { width, height } = pngSize(fig.png);
  return `<img src="data:image/png;base64,${base64(fig.png)}" width="${width}" height="${height}" alt="${
    escapeHtml(fig.caption)
  }" title="${escapeHtml(fig.file)}">`;
}

/**
 * A figure of the page: its static picture inside the block vega-embed draws into, its caption, and
 * a link to its PNG file's bytes for download.
 *
 * ```ts
 * figureBlock(fig, "", "wide"); // <figure class="wide" data-vl="sinkhorn.png">…
 * ```
 */
export function figureBlock(fig: Figure, note = "", cls = ""): string {
  const lazy = fig.svg === null;
  const picture = fig.svg ?? inlineImage(fig);
  return `<figure${cls ? ` class="${cls}"` : ""} data-vl="${escapeHtml(fig.file)}"${
    lazy ? " data-lazy" : ""
  }><div class="vl-target">${picture}</div><figcaption>${
    escapeHtml(fig.caption)
  }${note}</figcaption></figure>`;
}

/** What runs in the page: embed each figure's spec into its block (lazy ones on their button). */
const BOOT = `
const specs = JSON.parse(document.getElementById("report-specs").textContent);
const options = { renderer: "svg", actions: false };
const live = (block) => vegaEmbed(block.querySelector(".vl-target"), specs[block.dataset.vl], options)
  .then(() => block.setAttribute("data-live", ""));
for (const block of document.querySelectorAll("figure[data-vl]")) {
  if (!block.hasAttribute("data-lazy")) { live(block); continue; }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "explore";
  button.textContent = "Explore: zoom (wheel), pan (drag), hover for values";
  button.addEventListener("click", () => { button.remove(); live(block); });
  block.appendChild(button);
}
`;

/** Script text made safe inside a <script> element. */
function scriptText(js: string): string {
  // A literal "</script" would end the element early; "<\\/script" means the same in JavaScript strings.
  return js.replace(/<\/script/gi, "<\\/script");
}

/**
 * The scripts at the end of the page: the libraries (`scripts`, in load order), every figure's spec
 * as JSON, and the boot code.
 *
 * ```ts
 * const tail = pageScripts(figures, await vegaScripts());
 * ```
 */
export function pageScripts(figures: Iterable<Figure>, scripts: readonly string[]): string {
  const specs = Object.fromEntries([...figures].map((f) => [f.file, f.spec]));
  const json = JSON.stringify(specs).replace(/</g, "\\u003c");
  return [
    ...scripts.map((s) => `<script>${scriptText(s)}</script>`),
    `<script type="application/json" id="report-specs">${json}</script>`,
    `<script>${BOOT}</script>`,
  ].join("\n");
}
