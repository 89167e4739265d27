/**
 * A declared stage's `params:` and `resources:` checked against its task (private to graph.ts):
 * parameters through the task's schema (strict: unknown keys are errors; defaults filled in),
 * resources key by key; every problem names the stage and its place in the spec.
 *
 * @module
 */
import { z } from "zod";
import { type Spec, type SpecIssue, type StageDecl, suggest } from "./spec.ts";
import type { Resources, TaskDef } from "./task.ts";
import { hasControlChar } from "./_spec_keys.ts";

/**
 * A stage's parameters validated by its task's schema with defaults filled in; `{}` (with issues)
 * when they are invalid. `id` names the stage in messages (`em[*].fit` for a loop body stage).
 *
 * @example
 * ```ts
 * const params = checkedParams(spec, decl, task, "obs", issues); // { sigma_y: 0.1, … }
 * ```
 */
export function checkedParams(
  spec: Spec,
  decl: StageDecl,
  task: TaskDef,
  id: string,
  issues: SpecIssue[],
): Record<string, unknown> {
  const schema = task.params instanceof z.ZodObject ? (task.params as z.ZodObject).strict() : task.params;
  const parsed = schema.safeParse(decl.params);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push(paramIssue(spec, decl, task, id, issue));
  }
  return parsed.success ? parsed.data as Record<string, unknown> : {};
}

/** The keys a stage's `resources:` may have (see {@link Resources}). */
const RESOURCE_KEYS = ["cpus", "memory", "time", "gpus", "partition", "sbatch"] as const;

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
        if (
          Array.isArray(value) &&
          value.every((f) => typeof f === "string" && /^--?\w/.test(f) && !hasControlChar(f))
        ) {
          out.sbatch = value as string[];
        } else {bad(
            'a list of sbatch flags such as ["--qos=long", "--constraint=avx2"] (no newlines or other control characters)',
          );}
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
