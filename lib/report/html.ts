/**
 * The report page: one self-contained HTML file with every picture embedded (as data URIs), a
 * summary per method, the metrics of every evaluation in a table, and the corner plots by lap.
 *
 * ```ts
 * const html = renderReportHtml({
 *   title: "DiEM report", stageId: "report", methods, baselines, figures, cornerFile,
 *   missing: [], truth: "data", colorOf,
 * });
 * await Deno.writeTextFile("report.html", html);
 * ```
 *
 * @module
 */
import { formatNumber } from "../plot/mod.ts";
import type { Baseline, Evaluation, MethodRuns } from "./evaluations.ts";
import type { Figure } from "./figures.ts";
import { escapeHtml, figureBlock, pageScripts } from "./_interactive.ts";
import { METRIC_HIDDEN, METRIC_ORDER, metricValue, subsetMean } from "./_metrics.ts";

/**
 * What the page shows.
 *
 * ```ts
 * const page: ReportPage = { title, stageId, methods, baselines, figures, cornerFile, missing, truth, colorOf };
 * ```
 */
export interface ReportPage {
  /** Heading of the page. */
  title: string;
  /** The report stage's id. */
  stageId: string;
  methods: readonly MethodRuns<Evaluation>[];
  baselines: readonly Baseline<Evaluation>[];
  /** Every picture, by file name. */
  figures: ReadonlyMap<string, Figure>;
  /** The corner plot's file of each evaluation (by stage id) that has one. */
  cornerFile: ReadonlyMap<string, string>;
  /** Evaluations that had no samples to plot (stage ids). */
  missing: readonly string[];
  /** The truth's stage id, or null when none was wired. */
  truth: string | null;
  /** Colour of each method and baseline. */
  colorOf: ReadonlyMap<string, string>;
  /** The browser builds of Vega, Vega-Lite and vega-embed, inlined in load order (lib/plot's `vegaScripts()`). */
  scripts: readonly string[];
  /** A line under the heading, e.g. that the report was drawn mid-run. */
  note?: string;
  /** Further sections (trusted HTML) after the summary, e.g. a sweep's final values. */
  sections?: readonly string[];
}

/** One row of the metrics table: an evaluation of a method at a lap, or of a baseline (lap null). */
interface TableRow {
  method: string;
  lap: number | null;
  entry: Evaluation;
}

const STYLE =
  `  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #fafafa; }
  main { max-width: 1500px; margin: 0 auto; padding: 24px 32px 64px; }
  h1 { font-size: 26px; margin: 0 0 4px; }
  h2 { font-size: 20px; margin: 36px 0 12px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  h3 { font-size: 16px; margin: 24px 0 8px; color: #444; }
  .meta { color: #666; margin: 0 0 8px; }
  code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
  table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
  th, td { padding: 4px 10px; border-bottom: 1px solid #e5e5e5; text-align: right; white-space: nowrap; }
  th { background: #f0f0f0; position: sticky; top: 0; }
  td:first-child, th:first-child, td:nth-child(3) { text-align: left; }
  tr.baseline td { background: #f7f7f2; }
  td.best { font-weight: 700; }
  td.na { color: #bbb; }
  .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
  .scroll { overflow-x: auto; }
  .row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
  figure { margin: 0; background: #fff; border: 1px solid #e2e2e2; border-radius: 4px; padding: 8px; flex: 1 1 420px; max-width: 760px; }
  figure.wide { max-width: 1000px; }
  figure img, figure svg { max-width: 100%; height: auto; display: block; }
  button.explore { margin-top: 6px; font: inherit; font-size: 13px; }
  #vg-tooltip-element { font-size: 13px; }
  figcaption { color: #555; font-size: 13px; margin-top: 4px; }
  .note { color: #8a6d3b; }
`;

/**
 * The start of a report page (shared with the image report's): the document head with the style sheet, the
 * heading, the line under it (HTML) and an optional note; the caller closes `<main>`, `<body>`, `<html>`.
 *
 * ```ts
 * const html = `${pageStart("DiEM report", pageMeta(page))}<h2>…</h2></main></body></html>`;
 * ```
 */
export function pageStart(title: string, metaHtml: string, note?: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${metaHtml}</p>${note ? `\n<p class="note">${escapeHtml(note)}</p>` : ""}`;
}

/**
 * The report as one self-contained HTML page.
 *
 * ```ts
 * await Deno.writeTextFile("report.html", renderReportHtml(page));
 * ```
 */
export function renderReportHtml(r: ReportPage): string {
  const best = bestSinkhorn(r.methods);
  const curves = [...r.figures.values()].filter((f) => !f.file.startsWith("corner_"));
  const main = curves.find((f) => f.file === "sinkhorn.png");
  const others = curves.filter((f) => f !== main);
  const corners = cornerSections(r);
  return `${pageStart(r.title, pageMeta(r), r.note)}
<h2>Summary</h2>
<table><thead><tr><th>method</th><th>laps</th><th>final Sinkhorn</th><th>best Sinkhorn</th></tr></thead><tbody>
${summaryRows(r, best)}
</tbody></table>${r.sections?.length ? `\n${r.sections.join("\n")}` : ""}
<h2>Sinkhorn divergence over EM laps</h2>
<div class="row">${
    main
      ? figureBlock(
        main,
        " per lap; dashed lines are baselines. Click a legend entry to show one series alone.",
        "wide",
      )
      : ""
  }</div>
${
    others.length
      ? `<div class="row" style="margin-top:16px">${others.map((f) => figureBlock(f)).join("")}</div>`
      : ""
  }
<h2>Metrics</h2>
<div class="scroll">${metricTable(r, best)}</div>
<p class="meta">Bold: each method's best Sinkhorn. * Sinkhorn iterations did not converge.</p>
<h2>Samples${r.truth ? " over the truth" : ""}</h2>
${
    r.missing.length
      ? `<p class="note">No samples (<code>subset</code>) to plot for: ${
        r.missing.map((s) => `<code>${escapeHtml(s)}</code>`).join(", ")
      }.</p>`
      : ""
  }
${corners.join("\n") || `<p class="note">No corner plots.</p>`}
</main>
${pageScripts(r.figures.values(), r.scripts)}
</body>
</html>
`;
}

/** The line under the heading: the stage, its methods and baselines, the truth. `<p>${pageMeta(page)}</p>` */
export function pageMeta(r: Pick<ReportPage, "stageId" | "methods" | "baselines" | "truth">): string {
  const methods = r.methods.length, baselines = r.baselines.length;
  return `Stage <code>${escapeHtml(r.stageId)}</code> · ${methods} method${methods === 1 ? "" : "s"}${
    methods ? ` (${r.methods.map((m) => escapeHtml(m.name)).join(", ")})` : ""
  } · ${baselines} baseline${baselines === 1 ? "" : "s"}${
    baselines ? ` (${r.baselines.map((b) => escapeHtml(b.name)).join(", ")})` : ""
  } · truth: ${r.truth ? `<code>${escapeHtml(r.truth)}</code>` : "none"}`;
}

/** Each method's lowest Sinkhorn divergence over its laps. */
function bestSinkhorn(methods: readonly MethodRuns<Evaluation>[]): Map<string, number> {
  const best = new Map<string, number>();
  for (const m of methods) {
    const vals = m.laps.map((l) => subsetMean(l.entry.metrics, "sinkhorn")).filter((v): v is number =>
      v !== null
    );
    if (vals.length) best.set(m.name, Math.min(...vals));
  }
  return best;
}

function swatch(r: Pick<ReportPage, "colorOf">, name: string): string {
  return `<span class="sw" style="background:${r.colorOf.get(name) ?? "#999"}"></span>`;
}

/** A row per method (laps, final and best Sinkhorn), then a row per baseline. */
function summaryRows(r: ReportPage, best: ReadonlyMap<string, number>): string {
  return [
    ...r.methods.map((m) => {
      const last = m.laps[m.laps.length - 1];
      const s = subsetMean(last.entry.metrics, "sinkhorn");
      const b = best.get(m.name);
      const bestLap = m.laps.find((l) => subsetMean(l.entry.metrics, "sinkhorn") === b)?.lap;
      return `<tr><td>${swatch(r, m.name)}${escapeHtml(m.name)}</td><td>${m.laps.length}</td><td>${
        s === null ? "—" : formatNumber(s)
      }</td><td>${b === undefined ? "—" : `${formatNumber(b)} (lap ${bestLap})`}</td></tr>`;
    }),
    ...r.baselines.map((b) => {
      const s = subsetMean(b.entry.metrics, "sinkhorn");
      return `<tr class="baseline"><td>${swatch(r, b.name)}${escapeHtml(b.name)}</td><td>baseline</td><td>${
        s === null ? "—" : formatNumber(s)
      }</td><td>—</td></tr>`;
    }),
  ].join("\n");
}

/** The numeric metrics any row has, known ones first in their order, then the rest sorted. */
function metricColumns(rows: readonly TableRow[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) {
    for (const [k, v] of Object.entries(row.entry.metrics)) {
      if (typeof v === "number" && !METRIC_HIDDEN.has(k)) keys.add(k);
    }
  }
  return [
    ...METRIC_ORDER.filter((k) => keys.has(k)),
    ...[...keys].filter((k) => !METRIC_ORDER.includes(k)).sort(),
  ];
}

/**
 * Every evaluation's metrics: baselines first, then each method's laps; each method's best Sinkhorn bold
 * (none when `best` is empty).
 *
 * ```ts
 * const table = metricTable({ methods, baselines, colorOf }, new Map());
 * ```
 */
export function metricTable(
  r: Pick<ReportPage, "methods" | "baselines" | "colorOf">,
  best: ReadonlyMap<string, number>,
): string {
  const rows: TableRow[] = [
    ...r.baselines.map((b) => ({ method: b.name, lap: null, entry: b.entry })),
    ...r.methods.flatMap((m) =>
      m.laps.map((l) => ({ method: m.name, lap: l.lap as number | null, entry: l.entry }))
    ),
  ];
  if (!rows.length) return `<p class="note">No evaluations were wired to this report.</p>`;
  const columns = metricColumns(rows);
  const cell = (row: TableRow, k: string) => {
    const v = metricValue(row.entry.metrics, k);
    if (v === null) return `<td class="na">—</td>`;
    const unconverged = k === "sinkhorn" && row.entry.metrics.sinkhorn_converged === false
      ? `<sup title="Sinkhorn iterations did not converge">*</sup>`
      : "";
    // The best lap is marked on the statistic the curves and summary use: the mean over subsets where there is one.
    const isBest = (k === "sinkhorn" || k === "sinkhorn_mean") && row.lap !== null &&
      v === subsetMean(row.entry.metrics, "sinkhorn") && best.get(row.method) === v;
    return `<td${isBest ? ' class="best"' : ""}>${formatNumber(v)}${unconverged}</td>`;
  };
  return `<table><thead><tr><th>method</th><th>lap</th><th>stage</th>${
    columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
  }</tr></thead><tbody>${
    rows.map((row) =>
      `<tr${row.lap === null ? ' class="baseline"' : ""}><td>${swatch(r, row.method)}${
        escapeHtml(row.method)
      }</td><td>${row.lap ?? "baseline"}</td><td><code>${escapeHtml(row.entry.stageId)}</code></td>${
        columns.map((c) => cell(row, c)).join("")
      }</tr>`
    ).join("\n")
  }</tbody></table>`;
}

/** Corner plots: the baselines' in one row, then one row per lap with the methods side by side. */
function cornerSections(r: ReportPage): string[] {
  const sections: string[] = [];
  const figureOf = (e: Evaluation) => r.figures.get(r.cornerFile.get(e.stageId) ?? "");
  const baselineFigs = r.baselines.map((b) => figureOf(b.entry));
  if (baselineFigs.some(Boolean)) {
    sections.push(
      `<h3>Baselines</h3><div class="row">${
        baselineFigs.map((f) => (f ? figureBlock(f) : "")).join("")
      }</div>`,
    );
  }
  const allLaps = [
    ...new Set(
      r.methods.flatMap((m) => m.laps.filter((l) => r.cornerFile.has(l.entry.stageId)).map((l) => l.lap)),
    ),
  ].sort((a, b) => a - b);
  for (const lap of allLaps) {
    const figs = r.methods.map((m) => {
      const l = m.laps.find((x) => x.lap === lap);
      return l ? figureOf(l.entry) : undefined;
    }).filter((f): f is Figure => f !== undefined);
    sections.push(`<h3>Lap ${lap}</h3><div class="row">${figs.map((f) => figureBlock(f)).join("")}</div>`);
  }
  return sections;
}
