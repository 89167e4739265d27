/**
 * Expanding a sweep (private to graph.ts): the graph of every member of the sweep (every
 * combination of the axes' values) merged into one graph, in which a stage the swept values do not
 * touch is one stage, and a touched stage is one stage per combination of the values that touch it.
 *
 * A stage is touched by an axis when the axis changes its parameters or its seed, or touches one of
 * the stages it reads (a reference across members, `em@*[-1].evaluate`, reads them all, whatever the
 * member). Its id then carries those values: `em@seed=1[3].fit`, `report@lr=0.001`. Ids depend only
 * on the values, never on the other values of the list: adding a value leaves every id as it was.
 *
 * @module
 */
import type { Stage } from "./graph.ts";
import { ACROSS_MEMBERS } from "./_graph_refs.ts";
import { formatSweepValue, type SpecIssue, type SweepAxis, type SweepValue } from "./spec.ts";
import { SpecError } from "./_spec_error.ts";

/**
 * Every member of a sweep: one value per axis, every combination (the last axis varies fastest);
 * one member with no values when nothing is swept.
 *
 * @example
 * ```ts
 * sweepMembers([{ key: "seed", label: "seed", values: [0, 1], where }]); // [[0], [1]]
 * ```
 */
export function sweepMembers(axes: readonly SweepAxis[]): SweepValue[][] {
  let members: SweepValue[][] = [[]];
  for (const a of axes) members = members.flatMap((m) => a.values.map((v) => [...m, v]));
  return members;
}

/**
 * The merged graph of the members' graphs (`graphs[m]` built from member `members[m]`, plain ids,
 * references across members marked), stages in member order, each member's in `order`; a clash of
 * ids is a {@link SpecError}.
 *
 * @example
 * ```ts
 * const stages = mergeMembers(spec.sweep, members, graphs, topoSort(graphs[0]));
 * stages.has("em@seed=1[0].fit"); // true
 * ```
 */
export function mergeMembers(
  axes: readonly SweepAxis[],
  members: readonly SweepValue[][],
  graphs: readonly Map<string, Stage>[],
  order: readonly string[],
): Map<string, Stage> {
  const issues: SpecIssue[] = [];
  const touched = touchedAxes(axes, graphs, order, issues);
  const labelOf = (id: string, m: number) =>
    touched.get(id)!.map((a) => `${axes[a].label}=${formatSweepValue(members[m][a])}`).join(",");
  const idOf = (id: string, m: number) => memberId(graphs[0].get(id)!, labelOf(id, m));
  const out = new Map<string, Stage>();
  for (let m = 0; m < members.length; m++) {
    for (const id of order) {
      const s = graphs[m].get(id)!;
      const inputs: Record<string, string[]> = {};
      for (const [name, ids] of Object.entries(s.inputs)) {
        inputs[name] = [
          ...new Set(
            ids.flatMap((d) =>
              d.startsWith(ACROSS_MEMBERS) ? members.map((_, k) => idOf(d.slice(1), k)) : [idOf(d, m)]
            ),
          ),
        ];
      }
      const stage: Stage = {
        ...s,
        id: idOf(id, m),
        inputs,
        member: labelOf(id, m),
        sweep: Object.fromEntries(touched.get(id)!.map((a) => [axes[a].label, members[m][a]])),
      };
      const prior = out.get(stage.id);
      if (!prior) out.set(stage.id, stage);
      else if (signature(prior) !== signature(stage)) {
        issues.push({
          where: s.where,
          message: `two members of the sweep declare different stages with the same id "${stage.id}"`,
        });
      }
    }
  }
  if (issues.length) throw new SpecError(issues);
  return out;
}

/** Stage `id` of a member with label `label` (`seed=1`): `em@seed=1[3].fit`, `report@seed=1`. */
function memberId(s: Stage, label: string): string {
  if (!label) return s.id;
  return s.loop === null ? `${s.id}@${label}` : `${s.loop}@${label}[${s.lap}].${s.name}`;
}

/** What a stage is, for telling two declarations under one id apart. */
function signature(s: Stage): string {
  return JSON.stringify([s.task.name, s.params, s.seed, s.inputs]);
}

/**
 * Base id → the axes (indices, in order) that touch the stage: directly (its parameters or seed
 * change with the axis's value) or through a stage it reads in the same member.
 */
function touchedAxes(
  axes: readonly SweepAxis[],
  graphs: readonly Map<string, Stage>[],
  order: readonly string[],
  issues: SpecIssue[],
): Map<string, number[]> {
  // The member with axis i at its second value and every other axis at its first.
  const strides = axes.map((_, i) => axes.slice(i + 1).reduce((n, a) => n * a.values.length, 1));
  const own = (s: Stage) => JSON.stringify([s.params, s.seed]);
  const touched = new Map<string, number[]>();
  const reported = new Set<string>(); // label clashes, once per pair of axes
  for (const id of order) {
    const base = graphs[0].get(id)!;
    const set = new Set<number>();
    axes.forEach((a, i) => {
      if (a.values.length > 1 && own(graphs[strides[i]].get(id)!) !== own(base)) set.add(i);
    });
    for (const ids of Object.values(base.inputs)) {
      for (const d of ids) if (!d.startsWith(ACROSS_MEMBERS)) { for (const a of touched.get(d)!) set.add(a); }
    }
    const list = [...set].sort((a, b) => a - b);
    for (let i = 1; i < list.length; i++) {
      const twin = list.slice(0, i).find((a) => axes[a].label === axes[list[i]].label);
      if (twin !== undefined && !reported.has(`${twin},${list[i]}`)) {
        reported.add(`${twin},${list[i]}`);
        issues.push({
          where: axes[list[i]].where,
          message: `sweep keys "${axes[twin].key}" and "${
            axes[list[i]].key
          }" both touch stage "${id}" and would both be written "${
            axes[twin].label
          }=…" in its id: sweep only one of them over the stages they share`,
        });
      }
    }
    touched.set(id, list);
  }
  return touched;
}
