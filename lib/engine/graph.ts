/**
 * Spec → graph: loops expanded into laps with stable ids (`em[3].fit`), references resolved,
 * parameters validated against each task's schema (defaults filled in), cycles rejected.
 *
 * References an input may use:
 * - `obs` — a top-level stage; inside a loop, a stage of the same lap when the body has one;
 * - `prev.fit` — the body stage `fit` of the previous lap (lap 0: `loop.start.fit`);
 * - `em[2].fit`, `em[-1].fit` (last lap), `em[*].evaluate` (every lap, for list inputs);
 * - a YAML list of any of these, for list inputs.
 *
 * @module
 */
import { z } from "zod";
import { deriveSeed } from "../random.ts";
import {
  isLoop,
  type LoopDecl,
  type Spec,
  SpecError,
  type SpecIssue,
  type StageDecl,
  suggest,
} from "./spec.ts";
import type { Resources, TaskDef } from "./task.ts";

/** One node of the expanded graph. */
export interface Stage {
  id: string;
  task: TaskDef;
  /** Validated parameters with defaults (canonical: what the key hashes). */
  params: Record<string, unknown>;
  seed: number;
  loop: string | null;
  lap: number | null;
  /** Input name → producing stage ids (one for single inputs). */
  inputs: Record<string, string[]>;
  /** Task defaults merged with the spec's `resources`. */
  resources: Resources;
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
  const issues: SpecIssue[] = [];
  const topIds = new Set(spec.items.map((i) => i.name));
  const loops = new Map<string, LoopDecl>();
  for (const item of spec.items) if (isLoop(item)) loops.set(item.name, item);
  for (const loop of loops.values()) {
    for (const s of loop.body) {
      if (topIds.has(s.name)) {
        issues.push({
          where: spec.locate(s.path),
          message:
            `stage "${s.name}" of loop "${loop.name}" has the same id as a top-level stage: references would be ambiguous; rename one`,
        });
      }
    }
  }

  const stages = new Map<string, Stage>();
  const declOf = new Map<string, { decl: StageDecl; loop: LoopDecl | null; lap: number | null }>();
  for (const item of spec.items) {
    if (isLoop(item)) {
      for (let lap = 0; lap < item.laps; lap++) {
        for (const s of item.body) declOf.set(`${item.name}[${lap}].${s.name}`, { decl: s, loop: item, lap });
      }
    } else {
      declOf.set(item.name, { decl: item, loop: null, lap: null });
    }
  }

  const resolve = (
    ref: string,
    ctx: { loop: LoopDecl | null; lap: number | null },
    where: string,
  ): string[] | null => {
    const bad = (msg: string) => {
      issues.push({ where, message: msg });
      return null;
    };
    const prev = ref.match(/^prev\.([A-Za-z_][A-Za-z0-9_-]*)$/);
    if (prev) {
      if (!ctx.loop) return bad(`"${ref}": prev.NAME is only meaningful inside a loop`);
      const name = prev[1];
      if (!ctx.loop.body.some((s) => s.name === name)) {
        return bad(
          `"${ref}": loop "${ctx.loop.name}" has no stage "${name}" ${
            suggest(
              name,
              ctx.loop.body.map((s) => s.name),
            )
          }`,
        );
      }
      if (ctx.lap! > 0) return [`${ctx.loop.name}[${ctx.lap! - 1}].${name}`];
      const start = ctx.loop.start[name];
      if (!start) {
        return bad(
          `"${ref}" in lap 0 of "${ctx.loop.name}" needs \`loop: { start: { ${name}: STAGE } }\` to say what the first lap starts from`,
        );
      }
      if (!topIds.has(start) || loops.has(start)) {
        return bad(
          `loop "${ctx.loop.name}" starts "${name}" from "${start}", which is not a top-level stage ${
            suggest(start, [...topIds].filter((t) => !loops.has(t)))
          }`,
        );
      }
      return [start];
    }
    const indexed = ref.match(/^([A-Za-z_][A-Za-z0-9_-]*)\[(\*|-?\d+)\]\.([A-Za-z_][A-Za-z0-9_-]*)$/);
    if (indexed) {
      const [, loopName, idx, name] = indexed;
      const loop = loops.get(loopName);
      if (!loop) return bad(`"${ref}": no loop "${loopName}" ${suggest(loopName, [...loops.keys()])}`);
      if (!loop.body.some((s) => s.name === name)) {
        return bad(
          `"${ref}": loop "${loopName}" has no stage "${name}" ${
            suggest(name, loop.body.map((s) => s.name))
          }`,
        );
      }
      if (idx === "*") return Array.from({ length: loop.laps }, (_, l) => `${loopName}[${l}].${name}`);
      let lap = Number(idx);
      if (lap < 0) lap += loop.laps;
      if (lap < 0 || lap >= loop.laps) {
        return bad(`"${ref}": loop "${loopName}" has ${loop.laps} laps (0..${loop.laps - 1})`);
      }
      return [`${loopName}[${lap}].${name}`];
    }
    if (ctx.loop && ctx.loop.body.some((s) => s.name === ref)) return [`${ctx.loop.name}[${ctx.lap}].${ref}`];
    if (loops.has(ref)) {
      return bad(
        `"${ref}" is a loop: refer to one of its stages, e.g. ${ref}[-1].${
          loops.get(ref)!.body.at(-1)?.name
        } or ${ref}[*].${loops.get(ref)!.body.at(-1)?.name}`,
      );
    }
    if (topIds.has(ref)) return [ref];
    const known = [...topIds].filter((t) => !loops.has(t));
    if (ctx.loop) {
      known.push(
        ...ctx.loop.body.map((s) => s.name),
        ...ctx.loop.body.map((s) => `prev.${s.name}`),
      );
    }
    return bad(`unknown stage "${ref}" ${suggest(ref, known)}`);
  };

  const paramsOf = new Map<StageDecl, Record<string, unknown>>();
  const resourcesOf = new Map<StageDecl, Resources>();
  for (const [id, { decl, loop, lap }] of declOf) {
    const where = spec.locate(decl.path);
    const task = tasks.get(decl.task);
    if (!task) {
      issues.push({
        where: spec.locate([...decl.path, "task"]),
        message: `unknown task "${decl.task}" in stage "${id}" ${
          suggest(decl.task, [...tasks.keys()].sort())
        }`,
      });
      continue;
    }
    // Parameters: strict schema (unknown keys are errors), defaults filled in; once per declaration.
    if (!paramsOf.has(decl)) {
      const schema = task.params instanceof z.ZodObject ? (task.params as z.ZodObject).strict() : task.params;
      const parsed = schema.safeParse(decl.params);
      const name = loop ? `${loop.name}[*].${decl.name}` : id;
      if (!parsed.success) {
        for (const issue of parsed.error.issues) issues.push(paramIssue(spec, decl, task, name, issue));
      }
      paramsOf.set(decl, parsed.success ? parsed.data as Record<string, unknown> : {});
      resourcesOf.set(decl, checkedResources(spec, decl, name, issues));
    }
    const params = paramsOf.get(decl)!;
    // Inputs.
    const inputs: Record<string, string[]> = {};
    for (const [name, ref] of Object.entries(decl.inputs)) {
      const at = spec.locate([...decl.path, "inputs", name]);
      const slot = task.inputs[name];
      if (!slot) {
        issues.push({
          where: at,
          message: `task "${task.name}" has no input "${name}" ${suggest(name, Object.keys(task.inputs))}`,
        });
        continue;
      }
      const refs = Array.isArray(ref) ? ref : [ref];
      const ids: string[] = [];
      for (const r of refs) {
        const got = resolve(r, { loop, lap }, at);
        if (got) ids.push(...got);
      }
      if (!slot.list && (Array.isArray(ref) || ids.length !== 1) && ids.length > 0) {
        issues.push({
          where: at,
          message: `input "${name}" of task "${task.name}" takes one stage, got ${ids.length} (${
            ids.join(", ")
          })`,
        });
      }
      inputs[name] = ids;
    }
    for (const [name, slot] of Object.entries(task.inputs)) {
      if (!slot.optional && !(name in decl.inputs)) {
        issues.push({
          where,
          message: `stage "${id}" (task ${task.name}) is missing input "${name}": ${slot.description}`,
        });
      }
    }
    stages.set(id, {
      id,
      task,
      params,
      seed: decl.seed ?? deriveSeed(spec.seed, id),
      loop: loop?.name ?? null,
      lap,
      inputs,
      resources: { ...task.resources, ...resourcesOf.get(decl) },
      where,
    });
  }
  if (issues.length) throw new SpecError(dedupe(issues));

  const order = topoSort(stages);
  const dependents = new Map<string, string[]>(order.map((id) => [id, []]));
  for (const id of order) {
    for (const deps of Object.values(stages.get(id)!.inputs)) {
      for (const d of new Set(deps)) dependents.get(d)!.push(id);
    }
  }
  return { spec, stages, order, dependents };
}

/**
 * The keys a stage's `resources:` may have (see {@link Resources}).
 *
 * @example
 * ```ts
 * RESOURCE_KEYS.includes("cpus"); // true
 * ```
 */
export const RESOURCE_KEYS = ["cpus", "memory", "time", "gpus", "partition", "sbatch"] as const;

/**
 * A stage's `resources:` from the spec, checked: unknown keys and ill-formed values are spec
 * errors naming the stage and the place (a memory given as a number is in MB).
 *
 * @example
 * ```ts
 * // resources: { cpus: 4, memory: 16G, time: "2:00:00", sbatch: ["--qos=long"] }
 * const r = checkedResources(spec, decl, "em[0].fit", issues); // { cpus: 4, memory: "16G", … }
 * ```
 */
export function checkedResources(spec: Spec, decl: StageDecl, id: string, issues: SpecIssue[]): Resources {
  const out: Resources = {};
  for (const [key, value] of Object.entries(decl.resources)) {
    const where = spec.locate([...decl.path, "resources", key]);
    const bad = (what: string) =>
      issues.push({
        where,
        message: `resources.${key} of stage "${id}" must be ${what}, got ${JSON.stringify(value)}`,
      });
    switch (key) {
      case "cpus":
        if (Number.isInteger(value) && (value as number) > 0) out.cpus = value as number;
        else bad("a positive integer");
        break;
      case "gpus":
        if (Number.isInteger(value) && (value as number) >= 0) out.gpus = value as number;
        else bad('a non-negative integer (a GPU type goes in sbatch: ["--gres=gpu:TYPE:N"])');
        break;
      case "memory":
        if (Number.isInteger(value) && (value as number) > 0) out.memory = `${value}M`;
        else if (typeof value === "string" && /^\d+[KMGT]?$/i.test(value)) out.memory = value.toUpperCase();
        else bad('a size such as "8G" or "500M" (a bare number is MB)');
        break;
      case "time":
        if (Number.isInteger(value) && (value as number) > 0) out.time = String(value);
        else if (typeof value === "string" && /^(\d+-)?\d+(:\d+){0,2}$/.test(value)) out.time = value;
        else bad('a Slurm time limit such as "90" (minutes), "4:00:00" or "1-12:00:00"');
        break;
      case "partition":
        if (typeof value === "string" && /^[\w.,-]+$/.test(value)) out.partition = value;
        else bad("a partition name");
        break;
      case "sbatch":
        if (Array.isArray(value) && value.every((f) => typeof f === "string" && /^--?\w/.test(f))) {
          out.sbatch = value as string[];
        } else bad('a list of sbatch flags such as ["--qos=long", "--constraint=avx2"]');
        break;
      default:
        issues.push({
          where,
          message: `unknown resource "${key}" in stage "${id}" ${suggest(key, [...RESOURCE_KEYS])}`,
        });
    }
  }
  return out;
}

function paramIssue(
  spec: Spec,
  decl: StageDecl,
  task: TaskDef,
  id: string,
  issue: z.core.$ZodIssue,
): SpecIssue {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  const shape = task.params instanceof z.ZodObject ? Object.keys((task.params as z.ZodObject).shape) : [];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    return {
      where: spec.locate([...decl.path, "params", ...path, key]),
      message: `unknown parameter "${[...path, key].join(".")}" for task "${task.name}" in stage "${id}" ${
        suggest(key, path.length ? [] : shape)
      }`,
    };
  }
  const name = path.join(".") || "(params)";
  const value = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], decl.params);
  return {
    where: spec.locate([...decl.path, "params", ...path]),
    message: `parameter "${name}" of stage "${id}" (task ${task.name}): ${issue.message}${
      value !== undefined ? `, got ${JSON.stringify(value)}` : ""
    }`,
  };
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
    for (const deps of Object.values(stages.get(id)!.inputs)) for (const d of deps) visit(d);
    stack.pop();
    state.set(id, 2);
    order.push(id);
  };
  for (const id of stages.keys()) visit(id);
  return order;
}
