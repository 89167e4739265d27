/**
 * `pipeline metrics`: every metric of every cached stage; a loop's stages as one table per body
 * stage, laps as rows; a metric published with its standard error (`X_mean`, `X_se`) as `mean ± se`.
 *
 * @module
 */
import { type CommonOpts, openPlan, print } from "./_common.ts";

/**
 * `pipeline metrics`: returns the exit code (0).
 *
 * @example
 * ```ts
 * await cmdMetrics({ file: "pipeline.yaml", set: [], json: true }); // {"gauss_evaluate": {"fid": …}, …}
 * ```
 */
export async function cmdMetrics(opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  const byStage: Record<string, Record<string, unknown>> = {};
  for (const id of plan.graph.order) {
    const p = plan.stages.get(id)!;
    if (p.status !== "cached") continue;
    const m = await plan.store.manifest(p.key);
    if (Object.keys(m.metrics).length) byStage[id] = m.metrics;
  }
  if (opts.json) {
    print(JSON.stringify(byStage, null, 1));
    return 0;
  }
  const num = (v: number) => String(Number(v.toPrecision(5)));
  const fmt = (v: unknown) =>
    v instanceof MeanSe
      ? `${num(v.mean)} ± ${Number.isFinite(v.se) ? num(v.se) : "?"}`
      : typeof v === "number"
      ? num(v)
      : JSON.stringify(v) ?? "";
  for (const [id, metrics] of Object.entries(byStage)) byStage[id] = withStandardErrors(metrics);
  // Loop stages: one table per (loop, body stage), laps as rows.
  const tables = new Map<string, { lap: number; metrics: Record<string, unknown> }[]>();
  for (const [id, metrics] of Object.entries(byStage)) {
    const s = plan.graph.stages.get(id)!;
    if (s.loop === null) {
      print(`${id}: ${Object.entries(metrics).map(([k, v]) => `${k}=${fmt(v)}`).join("  ")}`);
      continue;
    }
    // One table per sweep member too: `em@seed=1[*].evaluate`.
    const t = `${s.loop}${s.member ? `@${s.member}` : ""}[*].${id.slice(id.indexOf("].") + 2)}`;
    if (!tables.has(t)) tables.set(t, []);
    tables.get(t)!.push({ lap: s.lap!, metrics });
  }
  for (const [t, rows] of tables) {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((c) =>
      rows.some((r) => typeof r.metrics[c] === "number" || r.metrics[c] instanceof MeanSe)
    );
    print(`\n${t}`);
    print(["lap".padEnd(5), ...cols.map((c) => c.padStart(Math.max(10, c.length)))].join(" "));
    for (const r of rows.sort((a, b) => a.lap - b.lap)) {
      print(
        [String(r.lap).padEnd(5), ...cols.map((c) => fmt(r.metrics[c]).padStart(Math.max(10, c.length)))]
          .join(" "),
      );
    }
  }
  if (!Object.keys(byStage).length) print("no metrics yet (run the pipeline first)");
  return 0;
}

/** A mean with its standard error, printed as `mean ± se`. */
class MeanSe {
  constructor(readonly mean: number, readonly se: number) {}
}

/** `X_mean` with an `X_se` beside it becomes one {@link MeanSe} under `X_mean`; `X_se` goes. */
function withStandardErrors(metrics: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metrics)) {
    const base = k.endsWith("_mean") ? k.slice(0, -"_mean".length) : null;
    if (base !== null && typeof v === "number" && typeof metrics[`${base}_se`] === "number") {
      out[k] = new MeanSe(v, metrics[`${base}_se`] as number);
    } else if (!(k.endsWith("_se") && typeof metrics[`${k.slice(0, -"_se".length)}_mean`] === "number")) {
      out[k] = v;
    }
  }
  return out;
}
