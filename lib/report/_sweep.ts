/**
 * A report across the members of a sweep (private): the evaluations of one method at one lap in
 * every seed of the sweep become one evaluation whose metrics are the mean over the seeds, with
 * `<metric>_sd` their standard deviation (drawn as a band, and printed in the table of final
 * values). Each member's own value is its mean over subsets (`<metric>_mean`) where it has one, else
 * the metric; a shared stage outside the seeds (a baseline) is drawn at its mean over subsets too. Swept
 * parameters other than seeds stay apart: `em@lr=0.001` is a method of its own. Evaluations of an unswept
 * spec pass through as they are.
 *
 * ```ts
 * const evaluations = aggregateSweep(source.evaluations);
 * ```
 *
 * @module
 */
import type { Baseline, Evaluation, MethodRuns } from "./evaluations.ts";
import {
  isStatisticOf,
  METRIC_HIDDEN,
  METRIC_ORDER,
  METRIC_TITLE,
  metricValue,
  subsetMean,
} from "./_metrics.ts";
import { formatNumber } from "../plot/mod.ts";
import { escapeHtml } from "./_interactive.ts";

/** The name of the swept value that is averaged over (other swept values make methods of their own). */
const SEED = "seed";

/**
 * Evaluations with every group of seeds (one method or baseline, one lap, one setting of the other
 * swept values) replaced by one evaluation: mean over the seeds and `<metric>_sd`, `members` = n.
 *
 * @example
 * ```ts
 * aggregateSweep([{ stageId: "em@seed=0[2].evaluate", loop: "em", lap: 2, stage: "evaluate", member: "seed=0",
 *   metrics: { sinkhorn: 0.5 } }, { …seed=1, metrics: { sinkhorn: 0.7 } }]);
 * // [{ stageId: "em@seed=*[2].evaluate", loop: "em", …, metrics: { sinkhorn: 0.6, sinkhorn_sd: 0.1414, members: 2 } }]
 * ```
 */
export function aggregateSweep<E extends Evaluation>(entries: readonly E[]): E[] {
  if (!entries.some((e) => e.member)) return [...entries];
  const groups = new Map<string, E[]>();
  for (const e of entries) {
    const { rest } = splitMember(e.member ?? "");
    const key = e.loop === null
      ? `${baseId(e.stageId)}\u0000${rest}`
      : [e.loop, rest, e.stage, e.lap].join("\u0000");
    if (!groups.get(key)?.push(e)) groups.set(key, [e]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0];
    const { seeded, rest } = splitMember(first.member ?? "");
    const loop = first.loop === null ? null : rest ? `${first.loop}@${rest}` : first.loop;
    if (!seeded) {
      // A stage outside the seeds (a shared baseline such as the Gaussian start) is drawn at the statistic
      // the members' lines use, its mean over subsets, not its single paired-subset number.
      return first.loop === null && !first.member
        ? { ...first, loop, metrics: subsetMeans(first.metrics) }
        : { ...first, loop };
    }
    const members = [...new Map(group.map((e) => [e.stageId, e])).values()];
    return {
      ...first,
      loop,
      stageId: first.stageId.replace(/([@,])seed=\d+/, "$1seed=*"),
      member: rest,
      metrics: meanAndSd(members.map((e) => e.metrics)),
    };
  });
}

/** `seed=1,lr=0.001` → whether a seed is in it, and the rest (`lr=0.001`). */
function splitMember(member: string): { seeded: boolean; rest: string } {
  const parts = member ? member.split(",") : [];
  const rest = parts.filter((p) => !p.startsWith(`${SEED}=`));
  return { seeded: rest.length < parts.length, rest: rest.join(",") };
}

/** A top-level stage id without its member label: `gauss_evaluate@seed=1` → `gauss_evaluate`. */
function baseId(id: string): string {
  return id.replace(/@.*$/, "");
}

/** `metrics` with each metric that has a mean over subsets replaced by that mean ({@link subsetMean}). */
function subsetMeans(metrics: Record<string, unknown>): Record<string, unknown> {
  const out = { ...metrics };
  for (const k of Object.keys(metrics)) {
    const mean = subsetMean(metrics, k);
    if (mean !== null && !isStatisticOf(metrics, k)) out[k] = mean;
  }
  return out;
}

/** Mean over members and `<metric>_sd` of every metric all members have as a number. */
function meanAndSd(all: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = { members: all.length };
  for (const k of Object.keys(all[0])) {
    if (isStatisticOf(all[0], k) || METRIC_HIDDEN.has(k)) continue;
    const values = all.map((m) => subsetMean(m, k));
    if (values.some((v) => v === null)) continue;
    const xs = values as number[];
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    out[k] = mean;
    if (xs.length > 1) {
      out[`${k}_sd`] = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
    }
  }
  return out;
}

/**
 * The table a paper prints: each method's and baseline's final values, mean ± sd over the seeds of
 * the sweep; empty when nothing was averaged.
 *
 * @example
 * ```ts
 * const html = finalValuesTable(methods, baselines); // "<h2>Final values over the sweep</h2><table>…"
 * ```
 */
export function finalValuesTable(
  methods: readonly MethodRuns<Evaluation>[],
  baselines: readonly Baseline<Evaluation>[],
): string {
  const rows = [
    ...methods.map((m) => ({ name: m.name, lap: String(m.laps.at(-1)!.lap), e: m.laps.at(-1)!.entry })),
    ...baselines.map((b) => ({ name: b.name, lap: "baseline", e: b.entry })),
  ].filter((r) => typeof r.e.metrics.members === "number");
  if (!rows.length) return "";
  const cols = METRIC_ORDER.filter((k) => rows.some((r) => metricValue(r.e.metrics, `${k}_sd`) !== null));
  const cell = (m: Record<string, unknown>, k: string) => {
    const v = metricValue(m, k), sd = metricValue(m, `${k}_sd`);
    return v === null ? "—" : sd === null ? formatNumber(v) : `${formatNumber(v)} ± ${formatNumber(sd)}`;
  };
  return `<h2>Final values over the sweep</h2>
<table><thead><tr><th>method</th><th>lap</th><th>seeds</th>${
    cols.map((k) => `<th>${escapeHtml(METRIC_TITLE[k] ?? k)}</th>`).join("")
  }</tr></thead><tbody>
${
    rows.map((r) =>
      `<tr><td>${escapeHtml(r.name)}</td><td>${r.lap}</td><td>${r.e.metrics.members}</td>${
        cols.map((k) => `<td>${cell(r.e.metrics, k)}</td>`).join("")
      }</tr>`
    ).join("\n")
  }
</tbody></table>
<p class="meta">Mean ± standard deviation over the seeds of the sweep (each seed's value: its mean over subsets).</p>`;
}
