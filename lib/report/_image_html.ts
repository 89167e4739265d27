/**
 * The page of an image report (private; see `images.ts`): the curves, the metrics table, then one row per
 * lap with each method's published figures (observations | samples | truth) and its prior's samples, the
 * baselines' figures first. Pictures are PNGs embedded as data URIs; the curves stay interactive.
 *
 * @module
 */
import type { Baseline, Evaluation, MethodRuns } from "./evaluations.ts";
import type { Figure } from "./figures.ts";
import { escapeHtml, figureBlock, inlineImage, pageScripts } from "./_interactive.ts";
import { metricTable, pageMeta, pageStart } from "./html.ts";
import type { PriorSamples } from "./images.ts";

/** A picture shown as is (a PNG), without a Vega-Lite spec. */
export interface PictureFigure {
  file: string;
  png: Uint8Array;
  caption: string;
}

/** What the image report's page shows. */
export interface ImagePage {
  title: string;
  stageId: string;
  methods: readonly MethodRuns<Evaluation>[];
  baselines: readonly Baseline<Evaluation>[];
  colorOf: ReadonlyMap<string, string>;
  /** The metric curves (interactive). */
  curves: readonly Figure[];
  /** The pictures of each evaluation and prior-samples stage, by stage id. */
  pictures: ReadonlyMap<string, readonly PictureFigure[]>;
  priors: readonly PriorSamples[];
  scripts: readonly string[];
  note?: string;
}

function pictureBlock(fig: PictureFigure): string {
  return `<figure>${inlineImage(fig)}<figcaption>${escapeHtml(fig.caption)}</figcaption></figure>`;
}

/** Per lap, each method's evaluation pictures and its loop's prior samples of that lap; baselines first. */
function lapSections(r: ImagePage): string[] {
  const of = (id: string) => r.pictures.get(id) ?? [];
  const sections: string[] = [];
  const baselineFigs = r.baselines.flatMap((b) => of(b.entry.stageId));
  const topPriors = r.priors.filter((p) => p.loop === null).flatMap((p) => of(p.stageId));
  if (baselineFigs.length || topPriors.length) {
    sections.push(
      `<h3>Baselines</h3><div class="row">${
        [...baselineFigs, ...topPriors].map(pictureBlock).join("")
      }</div>`,
    );
  }
  const laps = [
    ...new Set([
      ...r.methods.flatMap((m) => m.laps.map((l) => l.lap)),
      ...r.priors.flatMap((p) => (p.lap === null ? [] : [p.lap])),
    ]),
  ].sort((a, b) => a - b);
  for (const lap of laps) {
    const figs = [
      ...r.methods.flatMap((m) => m.laps.filter((l) => l.lap === lap).flatMap((l) => of(l.entry.stageId))),
      ...r.priors.filter((p) => p.loop !== null && p.lap === lap).flatMap((p) => of(p.stageId)),
    ];
    if (figs.length) {
      sections.push(`<h3>Lap ${lap}</h3><div class="row">${figs.map(pictureBlock).join("")}</div>`);
    }
  }
  return sections;
}

/**
 * The image report as one self-contained HTML page.
 *
 * ```ts
 * await Deno.writeTextFile("report.html", renderImageReportHtml(page));
 * ```
 */
export function renderImageReportHtml(r: ImagePage): string {
  const sections = lapSections(r);
  return `${pageStart(r.title, pageMeta({ ...r, truth: null }), r.note)}
<h2>Metrics over EM laps</h2>
<p class="meta">One line per method (EM loop); dashed lines are baselines (evaluations outside any loop: the Gaussian start, the oracle).</p>
<div class="row">${
    r.curves.map((f) => figureBlock(f)).join("") || `<p class="note">No image metrics yet.</p>`
  }</div>
<h2>Metrics</h2>
<div class="scroll">${metricTable(r, new Map())}</div>
<h2>Samples by lap</h2>
${sections.join("\n") || `<p class="note">No pictures.</p>`}
</main>
${pageScripts(r.curves, r.scripts)}
</body>
</html>
`;
}
