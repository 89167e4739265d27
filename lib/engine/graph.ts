/**
 * Spec → graph: loops expanded into laps with stable ids (`em[3].fit`), references resolved,
 * parameters validated against each task's schema (defaults filled in), cycles rejected.
 *
 * References an input may use:
 * - `obs` — a top-level stage; inside a loop, a stage of the same lap when the body has one;
 * - `prev.fit` — the body stage `fit` of the previous lap (lap 0: `loop.start.fit`);
 * - `em[2].fit`, `em[-1].fit` (last lap), `em[*].evaluate` (every lap, for list inputs);
 * - a YAML list of any of these, for list inputs;
 * - across the members of a sweep: `em@*[-1].evaluate`, `em@*[*].evaluate`, `gauss@*` (list inputs).
 *
 * A spec with a sweep is built once per member and merged (see _graph_sweep.ts): stages the swept
 * values touch get one id per member (`em@seed=1[3].fit`), the others stay one stage.
 *
 * @module
 */
import { deriveSeed } from "../random.ts";
import { isLoop, type Spec, SpecError, type SpecIssue, type StageDecl, suggest } from "./spec.ts";
import type { Resources, TaskDef } from "./task.ts";
import { ACROSS_MEMBERS, type LapOf, type RefScope, refScope, resolveRef } from "./_graph_refs.ts";
import { mergeMembers, sweepMembers } from "./_graph_sweep.ts";
import type { SweepValue } from "./spec.ts";
import { checkedParams, checkedResources } from "./_graph_params.ts";

/** One node of the expanded graph. */
export interface Stage {
  id: string;
  task: TaskDef;
  /** Validated parameters with defaults (canonical: what the key hashes). */
  params: Record<string, unknown>;
  seed: number;
  /** The name it is declared under: the id of a top-level stage, the body name (`fit`) inside a loop. */
  name: string;
  loop: string | null;
  lap: number | null;
  /** Input name → producing stage ids (one for single inputs). */
  inputs: Record<string, string[]>;
  /** Task defaults merged with the spec's `resources`. */
  resources: Resources;
  /** The sweep values that touch it, as its id writes them (`seed=1`); "" when none do. */
  member: string;
  /** The same values by name (`{ seed: 1 }`); empty when none touch it. */
  sweep: Record<string, SweepValue>;
  /** Where it is declared. */
  where: string;
}

/** The expanded, validated, acyclic graph. */
export interface Graph {
  spec: Spec;
  stages: Map<string, Stage>;
  /** Topological order (stable: declaration order among independent stages). */
  order: string[];
  /** Stage id → ids of the stages that read it. */
  dependents: Map<string, string[]>;
}

/** Task lookup by name. */
export type TaskRegistry = ReadonlyMap<string, TaskDef>;

/**
 * Expand and validate a spec against the task registry.
 *
 * @example
 * ```ts
 * const graph = buildGraph(await loadSpec("pipeline.yaml"), registry);
 * for (const id of graph.order) console.log(id);
 * ```
 */
export function buildGraph(spec: Spec, tasks: TaskRegistry): Graph {
  const members = sweepMembers(spec.sweep);
  const graphs = members.map((values) => buildMember(spec.sweep.length ? spec.member(values) : spec, tasks));
  const stages = mergeMembers(spec.sweep, members, graphs, topoSort(graphs[0]));
  const order = topoSort(stages);
  return { spec, stages, order, dependents: dependentsOf(stages, order) };
}

/** The stages of one member of the sweep (plain ids; references across members marked). */
function buildMember(spec: Spec, tasks: TaskRegistry): Map<string, Stage> {
  const b: GraphBuild = { spec, tasks, scope: refScope(spec), issues: [], checked: new Map() };
  checkShadowedIds(b);
  const stages = new Map<string, Stage>();
  for (const [id, at] of expandLaps(spec)) {
    const stage = buildStage(b, id, at);
    if (stage) stages.set(id, stage);
  }
  if (b.issues.length) throw new SpecError(dedupe(b.issues));
  return stages;
}

/** What building a graph works with, and what it found. */
interface GraphBuild {
  spec: Spec;
  tasks: TaskRegistry;
  scope: RefScope;
  issues: SpecIssue[];
  /** Checked parameters and resources, once per declaration (a loop body stage serves every lap). */
  checked: Map<StageDecl, { params: Record<string, unknown>; resources: Resources }>;
}

/** A stage of a loop body may not share its id with a top-level stage: references would be ambiguous. */
function checkShadowedIds({ spec, scope, issues }: GraphBuild): void {
  for (const loop of scope.loops.values()) {
    for (const s of loop.body) {
      if (scope.topIds.has(s.name)) {
        issues.push({
          where: spec.locate(s.path),
          message:
            `stage "${s.name}" of loop "${loop.name}" has the same id as a top-level stage: references would be ambiguous; rename one`,
        });
      }
    }
  }
}

/** Every stage id of the spec (loops expanded into laps: `em[3].fit`) with its declaration. */
function expandLaps(spec: Spec): Map<string, { decl: StageDecl } & LapOf> {
  const declOf = new Map<string, { decl: StageDecl } & LapOf>();
  for (const item of spec.items) {
    if (isLoop(item)) {
      for (let lap = 0; lap < item.laps; lap++) {
        for (const s of item.body) declOf.set(`${item.name}[${lap}].${s.name}`, { decl: s, loop: item, lap });
      }
    } else {
      declOf.set(item.name, { decl: item, loop: null, lap: null });
    }
  }
  return declOf;
}

/** Stage `id`, its task found, parameters and resources checked, inputs wired; null for an unknown task. */
function buildStage(b: GraphBuild, id: string, at: { decl: StageDecl } & LapOf): Stage | null {
  const { spec, issues } = b;
  const { decl, loop, lap } = at;
  const where = spec.locate(decl.path);
  const task = b.tasks.get(decl.task);
  if (!task) {
    issues.push({
      where: spec.locate([...decl.path, "task"]),
      message: `unknown task "${decl.task}" in stage "${id}" ${
        suggest(decl.task, [...b.tasks.keys()].sort())
      }`,
    });
    return null;
  }
  if (!b.checked.has(decl)) {
    const name = loop ? `${loop.name}[*].${decl.name}` : id;
    const params = checkedParams(spec, decl, task, name, issues);
    b.checked.set(decl, { params, resources: checkedResources(spec, decl, name, issues) });
  }
  const { params, resources } = b.checked.get(decl)!;
  const inputs = wireInputs(b, id, task, at);
  return {
    id,
    task,
    params,
    // A loop's stages derive their seeds from the loop's seed when it has one (a sweep may vary it).
    seed: decl.seed ?? deriveSeed(loop?.seed ?? spec.seed, id),
    name: decl.name,
    loop: loop?.name ?? null,
    lap,
    inputs,
    resources: { ...task.resources, ...resources },
    where,
    member: "",
    sweep: {},
  };
}

/** Input name → producing stage ids of stage `id`; unknown, ill-fitting and missing inputs are issues. */
function wireInputs(
  b: GraphBuild,
  id: string,
  task: TaskDef,
  at: { decl: StageDecl } & LapOf,
): Record<string, string[]> {
  const { spec, issues } = b;
  const { decl } = at;
  const inputs: Record<string, string[]> = {};
  for (const [name, ref] of Object.entries(decl.inputs)) {
    const where = spec.locate([...decl.path, "inputs", name]);
    const slot = task.inputs[name];
    if (!slot) {
      issues.push({
        where,
        message: `task "${task.name}" has no input "${name}" ${suggest(name, Object.keys(task.inputs))}`,
      });
      continue;
    }
    const known = issues.length;
    const ids = (Array.isArray(ref) ? ref : [ref]).flatMap((r) =>
      resolveRef(r, at, where, b.scope, issues) ?? []
    );
    if (!slot.list && ids.length === 0 && issues.length === known) {
      // `[]`, or `em[*].x` of a loop with no laps: nothing to read where one stage is needed.
      issues.push({
        where,
        message: `input "${name}" of task "${task.name}" takes one stage, got none (${JSON.stringify(ref)})`,
      });
    }
    if (!slot.list && (Array.isArray(ref) || ids.length !== 1) && ids.length > 0) {
      issues.push({
        where,
        message: `input "${name}" of task "${task.name}" takes one stage, got ${ids.length} (${
          ids.join(", ")
        })`,
      });
    }
    if (!slot.list && ids.some((i) => i.startsWith(ACROSS_MEMBERS))) {
      issues.push({
        where,
        message: `input "${name}" of task "${task.name}" takes one stage; NAME@… names one per sweep member`,
      });
    }
    inputs[name] = ids;
  }
  for (const [name, slot] of Object.entries(task.inputs)) {
    if (!slot.optional && !(name in decl.inputs)) {
      issues.push({
        where: spec.locate(decl.path),
        message: `stage "${id}" (task ${task.name}) is missing input "${name}": ${slot.description}`,
      });
    }
  }
  return inputs;
}

/** Stage id → ids of the stages that read it, in topological order. */
function dependentsOf(stages: Map<string, Stage>, order: string[]): Map<string, string[]> {
  const dependents = new Map<string, string[]>(order.map((id) => [id, []]));
  for (const id of order) {
    for (const deps of Object.values(stages.get(id)!.inputs)) {
      for (const d of new Set(deps)) dependents.get(d)!.push(id);
    }
  }
  return dependents;
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.where}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Ids in dependency order; a reference across sweep members (marked) counts as its plain id. */
function topoSort(stages: Map<string, Stage>): string[] {
  const order: string[] = [];
  const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
  const stack: string[] = [];
  const visit = (id: string) => {
    const s = state.get(id);
    if (s === 2) return;
    if (s === 1) {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new SpecError([{
        where: stages.get(id)!.where,
        message: `dependency cycle: ${cycle.join(" → ")}`,
      }]);
    }
    state.set(id, 1);
    stack.push(id);
    for (const deps of Object.values(stages.get(id)!.inputs)) {
      for (const d of deps) visit(d.startsWith(ACROSS_MEMBERS) ? d.slice(ACROSS_MEMBERS.length) : d);
    }
    stack.pop();
    state.set(id, 2);
    order.push(id);
  };
  for (const id of stages.keys()) visit(id);
  return order;
}
