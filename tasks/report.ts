/**
 * `report`: what the researcher looks at after a run (DESIGN §5): the Sinkhorn divergence (and
 * other metrics) over EM laps for each method, corner plots of samples over the truth per lap,
 * and one self-contained `report.html` with every picture embedded and a table of the metrics.
 *
 * Its `evaluations` are evaluate stages, from one or several EM loops (one method per loop) and
 * from outside any loop (baselines, e.g. the Gaussian start), wired as a list:
 *
 * ```yaml
 * report:
 *   task: report
 *   inputs: { evaluations: ["em[*].evaluate", "diffem[*].evaluate", gauss_eval], truth: data }
 *   params: { range: [-3, 3] }
 * ```
 *
 * Outputs: `sinkhorn.png`, `<metric>.png` for the other `curves`, `corner_<method>_lap<k>.png`,
 * `corner_<baseline>.png`, `report.html`.
 *
 * @module
 */
import { z } from "zod";
import { formatNumber } from "../lib/plot/axes.ts";
import { PALETTE } from "../lib/plot/canvas.ts";
import { type CornerLayer, cornerPlot, type PointMatrix, robustRanges } from "../lib/plot/corner.ts";
import { type ChartSeries, lineChart, type ReferenceLine } from "../lib/plot/curves.ts";
import { readPngHeader } from "../lib/plot/png.ts";
import type { InputEntry, TaskDef } from "../lib/engine/task.ts";

const params = z.object({
  /** Heading of the HTML page. */
  title: z.string().default("DiEM report"),
  /** Points per sample set in each scatter panel (histograms use every sample of `subset`). */
  max_points: z.number().int().positive().default(1024),
  /** Axis range of every feature in the corner plots (e.g. [-3, 3]); default from the truth. */
  range: z.tuple([z.number(), z.number()]).refine(([lo, hi]) => lo < hi, {
    message: "range must be [low, high] with low < high",
  })
    .optional(),
  /**
   * Laps that get corner plots: `auto` (every lap up to 16 laps, else about 15 evenly spaced and
   * the last), `all`, `last`, or a list of lap numbers (negative counts from the end: -1 = last).
   */
  corner_laps: z.union([z.enum(["auto", "all", "last"]), z.array(z.number().int())]).default("auto"),
  /** Corner plots show the first this many features. */
  max_features: z.number().int().positive().default(8),
  /** Log scale for the curves: `auto` when every value is positive and they span a factor of 20. */
  log_y: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  /** Metrics drawn as curves over laps (`sinkhorn.png` is always drawn). */
  curves: z.array(z.string()).default(["sinkhorn", "mean_error", "cov_error"]),
});

/** Parameters of the report task, after defaults. */
export type ReportParams = z.output<typeof params>;

/**
 * A stage id split into its loop, lap and body stage, or null outside loops.
 *
 * ```ts
 * parseLapId("em[3].evaluate"); // { loop: "em", lap: 3, stage: "evaluate" }
 * parseLapId("gauss_eval");     // null
 * ```
 */
export function parseLapId(id: string): { loop: string; lap: number; stage: string } | null {
  const m = id.match(/^(.+)\[(\d+)\]\.([^.\[\]]+)$/);
  return m ? { loop: m[1], lap: Number(m[2]), stage: m[3] } : null;
}

/**
 * One method: the evaluations of one loop, by lap.
 *
 * ```ts
 * const m: MethodRuns<InputEntry> = { name: "em", laps: [{ lap: 0, entry }] };
 * ```
 */
export interface MethodRuns<E> {
  /** The loop's name (`loop.stage` when one loop has several evaluation stages). */
  name: string;
  /** Sorted by lap. */
  laps: { lap: number; entry: E }[];
}

/**
 * Evaluations grouped into methods (one per loop, laps sorted) and baselines (stages outside loops),
 * each in the order the spec lists them.
 *
 * ```ts
 * const { methods, baselines } = groupEvaluations(ctx.inputList("evaluations"));
 * ```
 */
export function groupEvaluations<E extends { stageId: string }>(
  entries: readonly E[],
): { methods: MethodRuns<E>[]; baselines: { name: string; entry: E }[] } {
  const stagesOfLoop = new Map<string, Set<string>>();
  for (const e of entries) {
    const p = parseLapId(e.stageId);
    if (p) stagesOfLoop.set(p.loop, (stagesOfLoop.get(p.loop) ?? new Set()).add(p.stage));
  }
  const methods = new Map<string, MethodRuns<E>>();
  const baselines: { name: string; entry: E }[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.stageId)) continue; // the same stage wired twice
    seen.add(e.stageId);
    const p = parseLapId(e.stageId);
    if (!p) {
      baselines.push({ name: e.stageId, entry: e });
      continue;
    }
    const name = stagesOfLoop.get(p.loop)!.size > 1 ? `${p.loop}.${p.stage}` : p.loop;
    if (!methods.has(name)) methods.set(name, { name, laps: [] });
    methods.get(name)!.laps.push({ lap: p.lap, entry: e });
  }
  for (const m of methods.values()) m.laps.sort((a, b) => a.lap - b.lap);
  return { methods: [...methods.values()], baselines };
}

/**
 * The laps that get corner plots, out of `laps` (sorted), per the `corner_laps` parameter.
 *
 * ```ts
 * selectCornerLaps([0, 1, 2, 3], "last");     // [3]
 * selectCornerLaps([0, 1, 2, 3], [0, -1]);    // [0, 3]
 * selectCornerLaps(range(40), "auto");        // [0, 3, 6, …, 36, 39]
 * ```
 */
export function selectCornerLaps(laps: readonly number[], choice: ReportParams["corner_laps"]): number[] {
  if (!laps.length) return [];
  const last = laps[laps.length - 1];
  if (choice === "all") return [...laps];
  if (choice === "last") return [last];
  if (choice === "auto") {
    if (laps.length <= 16) return [...laps];
    const every = Math.ceil(laps.length / 15);
    const out = laps.filter((_, i) => i % every === 0);
    if (out[out.length - 1] !== last) out.push(last);
    return out;
  }
  const wanted = new Set(choice.map((k) => (k < 0 ? last + 1 + k : k)));
  return laps.filter((l) => wanted.has(l));
}

const METRIC_ORDER = [
  "sinkhorn",
  "sinkhorn_next",
  "mean_error",
  "cov_error",
  "cov_rel_error",
  "outside_box",
  "residual_rms",
  "residual_over_sigma",
];
const METRIC_HIDDEN = new Set(["sinkhorn_m", "sinkhorn_iterations", "sinkhorn_converged"]);
const METRIC_TITLE: Record<string, string> = {
  sinkhorn: "Sinkhorn divergence",
  sinkhorn_next: "Sinkhorn (next m samples)",
  mean_error: "Mean error",
  cov_error: "Covariance error",
  cov_rel_error: "Relative covariance error",
  outside_box: "Fraction outside the box",
  residual_rms: "Residual RMS",
  residual_over_sigma: "Residual RMS / σ_y",
};
const TRUTH_COLOR = "#3a3a3a";

function num(metrics: Record<string, unknown>, key: string): number | null {
  const v = metrics[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** File-name-safe form of a method or stage name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "stage";
}

function escapeHtml(s: string): string {
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

/** The first `features` columns of rows of any shape `[n, …]`, as `[n, features]`. */
function leadingColumns(a: PointMatrix, features: number): PointMatrix {
  const n = a.shape[0] ?? 0, d = n ? a.data.length / n : 0, k = Math.min(d, features);
  if (k === d) return { shape: [n, d], data: a.data };
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = a.data[i * d + j];
  return { shape: [n, k], data: out };
}

/** A picture written as a stage file and kept for the HTML page. */
interface Figure {
  file: string;
  png: Uint8Array;
  caption: string;
}

/** The report task. */
export const reportTask: TaskDef<typeof params> = {
  name: "report",
  version: 1,
  description: "Sinkhorn curves over EM laps, corner plots of samples vs truth, one self-contained HTML page",
  params,
  inputs: {
    evaluations: {
      description: "evaluate stages: every lap of each EM loop (em[*].evaluate), and baselines",
      list: true,
    },
    truth: { description: "a dataset stage with the clean x, drawn under the samples", optional: true },
  },
  async run(ctx) {
    const p = ctx.params;
    const { methods, baselines } = groupEvaluations(ctx.inputList("evaluations"));
    const colorOf = new Map<string, string>();
    [...methods.map((m) => m.name), ...baselines.map((b) => b.name)].forEach((name, i) =>
      colorOf.set(name, PALETTE[i % PALETTE.length])
    );

    // Which corner plots, and their samples (first max_features features only).
    const cornerJobs: { method: string | null; lap: number | null; entry: InputEntry }[] = [];
    for (const b of baselines) cornerJobs.push({ method: null, lap: null, entry: b.entry });
    const lapsOf = new Map(
      methods.map((m) => [m.name, new Set(selectCornerLaps(m.laps.map((l) => l.lap), p.corner_laps))]),
    );
    for (const m of methods) {
      for (const l of m.laps) {
        if (lapsOf.get(m.name)!.has(l.lap)) cornerJobs.push({ method: m.name, lap: l.lap, entry: l.entry });
      }
    }
    const curveMetrics = ["sinkhorn", ...p.curves.filter((c) => c !== "sinkhorn")];
    ctx.progress.start(curveMetrics.length + cornerJobs.length + 1, "figure");

    const figures = new Map<string, Figure>();
    const addFigure = async (file: string, png: Uint8Array, caption: string) => {
      await ctx.writeFile(file, png);
      figures.set(file, { file, png, caption });
      ctx.progress.tick(1, file);
    };

    // Curves over laps: one line per method, baselines as dashed horizontal lines.
    for (const metric of curveMetrics) {
      const series: ChartSeries[] = methods.map((m) => ({
        name: m.name,
        color: colorOf.get(m.name),
        points: m.laps.flatMap((l) => {
          const v = num(l.entry.metrics, metric);
          return v === null ? [] : [[l.lap, v] as [number, number]];
        }),
      }));
      const references: ReferenceLine[] = baselines.flatMap((b) => {
        const v = num(b.entry.metrics, metric);
        return v === null ? [] : [{ name: b.name, value: v, color: colorOf.get(b.name) }];
      });
      const anyPoint = series.some((s) => s.points.length);
      if (metric !== "sinkhorn" && !anyPoint) {
        ctx.progress.tick(1);
        continue;
      }
      const values = [...series.flatMap((s) => s.points.map((q) => q[1])), ...references.map((r) => r.value)];
      const logY = p.log_y === "auto"
        ? values.length > 1 && values.every((v) => v > 0) && Math.max(...values) / Math.min(...values) >= 20
        : p.log_y;
      const title = METRIC_TITLE[metric] ?? metric;
      const chart = lineChart({
        title: `${title} over EM laps`,
        subtitle: `${metric}${logY ? " · log scale" : ""}${references.length ? " · dashed: baselines" : ""}`,
        xLabel: "EM lap",
        yLabel: metric,
        series,
        references,
        logY,
        width: metric === "sinkhorn" ? 1000 : 760,
        height: metric === "sinkhorn" ? 560 : 460,
      });
      await addFigure(`${metric}.png`, chart.toPng(), title);
    }

    // Corner plots: the truth in grey under each method's samples, on shared axes.
    const truthEntry = ctx.optionalInput("truth");
    let truth: PointMatrix | null = null;
    if (truthEntry?.has("x")) {
      const n = truthEntry.arrays.x.shape[0];
      truth = leadingColumns(await truthEntry.rows("x", 0, Math.min(n, 4096)), p.max_features);
    }
    const samples = new Map<InputEntry, PointMatrix | null>();
    for (const job of cornerJobs) {
      samples.set(
        job.entry,
        job.entry.has("subset") ? leadingColumns(await job.entry.array("subset"), p.max_features) : null,
      );
    }
    const features = truth
      ? truth.shape[1]
      : Math.max(0, ...[...samples.values()].map((s) => s?.shape[1] ?? 0));
    const ranges: [number, number][] | undefined = p.range
      ? undefined
      : truth
      ? robustRanges([truth], features)
      : robustRanges([...samples.values()].filter((s): s is PointMatrix => s !== null), features);
    const missing: string[] = [];
    const cornerFile = new Map<InputEntry, string>();
    for (const job of cornerJobs) {
      const pts = samples.get(job.entry);
      const name = job.method ?? job.entry.stageId;
      if (!pts || !pts.shape[0]) {
        missing.push(job.entry.stageId);
        ctx.progress.tick(1);
        continue;
      }
      const layers: CornerLayer[] = [];
      if (truth) layers.push({ name: "truth", points: truth, color: TRUTH_COLOR });
      layers.push({
        name: job.method === null ? `${name} samples` : `${name} samples, lap ${job.lap}`,
        points: pts,
        color: colorOf.get(name),
      });
      const m = job.entry.metrics;
      const facts = (["sinkhorn", "mean_error", "cov_error", "outside_box"] as const)
        .map((k) => (num(m, k) === null ? null : `${k} ${formatNumber(num(m, k)!)}`))
        .filter((s) => s !== null);
      const title = job.method === null ? `${name} (baseline)` : `${name} · lap ${job.lap}`;
      const fig = cornerPlot({
        title,
        subtitle: facts.join(" · "),
        layers,
        range: p.range ?? ranges,
        maxPoints: p.max_points,
        maxFeatures: p.max_features,
      });
      const file = job.method === null
        ? `corner_${safeName(name)}.png`
        : `corner_${safeName(name)}_lap${job.lap}.png`;
      cornerFile.set(job.entry, file);
      await addFigure(file, fig.toPng(), title);
    }

    const html = renderHtml({
      title: p.title,
      stageId: ctx.id,
      methods,
      baselines,
      figures,
      cornerFile,
      missing,
      truth: truthEntry?.stageId ?? null,
      colorOf,
    });
    await ctx.writeFile("report.html", new TextEncoder().encode(html));
    ctx.progress.tick(1, "report.html");

    const finalSinkhorn: Record<string, number | null> = {};
    for (const m of methods) finalSinkhorn[m.name] = num(m.laps[m.laps.length - 1].entry.metrics, "sinkhorn");
    for (const b of baselines) finalSinkhorn[b.name] = num(b.entry.metrics, "sinkhorn");
    ctx.metrics({
      final_sinkhorn: finalSinkhorn,
      laps: Object.fromEntries(methods.map((m) => [m.name, m.laps.length])),
      figures: figures.size,
    });
  },
};

interface HtmlInput {
  title: string;
  stageId: string;
  methods: MethodRuns<InputEntry>[];
  baselines: { name: string; entry: InputEntry }[];
  figures: Map<string, Figure>;
  cornerFile: Map<InputEntry, string>;
  missing: string[];
  truth: string | null;
  colorOf: Map<string, string>;
}

function img(fig: Figure | undefined, cls = ""): string {
  if (!fig) return "";
  const { width, height } = readPngHeader(fig.png);
  return `<img class="${cls}" src="data:image/png;base64,${
    base64(fig.png)
  }" width="${width}" height="${height}" alt="${escapeHtml(fig.caption)}" title="${escapeHtml(fig.file)}">`;
}

function renderHtml(r: HtmlInput): string {
  const rows: { method: string; lap: number | null; entry: InputEntry }[] = [
    ...r.baselines.map((b) => ({ method: b.name, lap: null, entry: b.entry })),
    ...r.methods.flatMap((m) =>
      m.laps.map((l) => ({ method: m.name, lap: l.lap as number | null, entry: l.entry }))
    ),
  ];
  const keys = new Set<string>();
  for (const row of rows) {
    for (
      const [k, v] of Object.entries(row.entry.metrics)
    ) if (typeof v === "number" && !METRIC_HIDDEN.has(k)) keys.add(k);
  }
  const columns = [
    ...METRIC_ORDER.filter((k) => keys.has(k)),
    ...[...keys].filter((k) => !METRIC_ORDER.includes(k)).sort(),
  ];
  const best = new Map<string, number>();
  for (const m of r.methods) {
    const vals = m.laps.map((l) => num(l.entry.metrics, "sinkhorn")).filter((v): v is number => v !== null);
    if (vals.length) best.set(m.name, Math.min(...vals));
  }
  const swatch = (name: string) =>
    `<span class="sw" style="background:${r.colorOf.get(name) ?? "#999"}"></span>`;
  const cell = (row: (typeof rows)[number], k: string) => {
    const v = num(row.entry.metrics, k);
    if (v === null) return `<td class="na">—</td>`;
    const unconverged = k === "sinkhorn" && row.entry.metrics.sinkhorn_converged === false
      ? `<sup title="Sinkhorn iterations did not converge">*</sup>`
      : "";
    const isBest = k === "sinkhorn" && row.lap !== null && best.get(row.method) === v;
    return `<td${isBest ? ' class="best"' : ""}>${formatNumber(v)}${unconverged}</td>`;
  };
  const metricTable = rows.length
    ? `<table><thead><tr><th>method</th><th>lap</th><th>stage</th>${
      columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")
    }</tr></thead><tbody>${
      rows.map((row) =>
        `<tr${row.lap === null ? ' class="baseline"' : ""}><td>${swatch(row.method)}${
          escapeHtml(row.method)
        }</td><td>${row.lap ?? "baseline"}</td><td><code>${escapeHtml(row.entry.stageId)}</code></td>${
          columns.map((c) => cell(row, c)).join("")
        }</tr>`
      ).join("\n")
    }</tbody></table>`
    : `<p class="note">No evaluations were wired to this report.</p>`;

  const summary = [
    ...r.methods.map((m) => {
      const last = m.laps[m.laps.length - 1];
      const s = num(last.entry.metrics, "sinkhorn");
      const b = best.get(m.name);
      const bestLap = m.laps.find((l) => num(l.entry.metrics, "sinkhorn") === b)?.lap;
      return `<tr><td>${swatch(m.name)}${escapeHtml(m.name)}</td><td>${m.laps.length}</td><td>${
        s === null ? "—" : formatNumber(s)
      }</td><td>${b === undefined ? "—" : `${formatNumber(b)} (lap ${bestLap})`}</td></tr>`;
    }),
    ...r.baselines.map((b) => {
      const s = num(b.entry.metrics, "sinkhorn");
      return `<tr class="baseline"><td>${swatch(b.name)}${escapeHtml(b.name)}</td><td>baseline</td><td>${
        s === null ? "—" : formatNumber(s)
      }</td><td>—</td></tr>`;
    }),
  ].join("\n");

  const curves = [...r.figures.values()].filter((f) => !f.file.startsWith("corner_"));
  const main = curves.find((f) => f.file === "sinkhorn.png");
  const others = curves.filter((f) => f !== main);

  const cornerSections: string[] = [];
  const baselineFigs = r.baselines.map((b) => r.figures.get(r.cornerFile.get(b.entry) ?? ""));
  if (baselineFigs.some(Boolean)) {
    cornerSections.push(
      `<h3>Baselines</h3><div class="row">${
        baselineFigs.map((
          f,
        ) => (f ? `<figure>${img(f)}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>` : "")).join(
          "",
        )
      }</div>`,
    );
  }
  const allLaps = [
    ...new Set(r.methods.flatMap((m) => m.laps.filter((l) => r.cornerFile.has(l.entry)).map((l) => l.lap))),
  ].sort((a, b) => a - b);
  for (const lap of allLaps) {
    const figs = r.methods.map((m) => {
      const l = m.laps.find((x) => x.lap === lap);
      return l ? r.figures.get(r.cornerFile.get(l.entry) ?? "") : undefined;
    }).filter((f): f is Figure => f !== undefined);
    cornerSections.push(
      `<h3>Lap ${lap}</h3><div class="row">${
        figs.map((f) => `<figure>${img(f)}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`).join(
          "",
        )
      }</div>`,
    );
  }

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.title)}</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #fafafa; }
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
  figure img { width: 100%; height: auto; display: block; }
  figcaption { color: #555; font-size: 13px; margin-top: 4px; }
  .note { color: #8a6d3b; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(r.title)}</h1>
<p class="meta">Stage <code>${escapeHtml(r.stageId)}</code> · ${r.methods.length} method${
    r.methods.length === 1 ? "" : "s"
  }${
    r.methods.length ? ` (${r.methods.map((m) => escapeHtml(m.name)).join(", ")})` : ""
  } · ${r.baselines.length} baseline${r.baselines.length === 1 ? "" : "s"}${
    r.baselines.length ? ` (${r.baselines.map((b) => escapeHtml(b.name)).join(", ")})` : ""
  } · truth: ${r.truth ? `<code>${escapeHtml(r.truth)}</code>` : "none"}</p>
<h2>Summary</h2>
<table><thead><tr><th>method</th><th>laps</th><th>final Sinkhorn</th><th>best Sinkhorn</th></tr></thead><tbody>
${summary}
</tbody></table>
<h2>Sinkhorn divergence over EM laps</h2>
<div class="row">${
    main
      ? `<figure class="wide">${img(main)}<figcaption>${
        escapeHtml(main.caption)
      } per lap; dashed lines are baselines.</figcaption></figure>`
      : ""
  }</div>
${
    others.length
      ? `<div class="row" style="margin-top:16px">${
        others.map((f) => `<figure>${img(f)}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`).join(
          "",
        )
      }</div>`
      : ""
  }
<h2>Metrics</h2>
<div class="scroll">${metricTable}</div>
<p class="meta">Bold: each method's best Sinkhorn. * Sinkhorn iterations did not converge.</p>
<h2>Samples${r.truth ? " over the truth" : ""}</h2>
${
    r.missing.length
      ? `<p class="note">No samples (<code>subset</code>) to plot for: ${
        r.missing.map((s) => `<code>${escapeHtml(s)}</code>`).join(", ")
      }.</p>`
      : ""
  }
${cornerSections.join("\n") || `<p class="note">No corner plots.</p>`}
</main>
</body>
</html>
`;
}
