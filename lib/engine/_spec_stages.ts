/**
 * Reading the `stages:` of a spec (private; spec.ts re-exports the declaration types): each stage
 * and each EM loop checked field by field, every problem reported with its place.
 *
 * @module
 */
import {
  ID_RE,
  isObj,
  LOOP_KEYS,
  LOOP_OPTS,
  type Obj,
  reportUnknownKeys,
  type SpecReader,
  STAGE_KEYS,
  type YamlPath,
} from "./_spec_keys.ts";
import { suggest } from "./_suggest.ts";

/** Cluster resources of a stage (see `Resources` in task.ts); free-form here, checked by executors. */
export type ResourceDecl = Record<string, unknown>;

/** A declared stage (top level, or one stage of a loop body). */
export interface StageDecl {
  /** Its name in the YAML (`fit` for a loop body stage). */
  name: string;
  task: string;
  params: Record<string, unknown>;
  /** Input name → reference(s) as written (`data`, `prev.fit`, `em[*].evaluate`, or a list). */
  inputs: Record<string, string | string[]>;
  seed?: number;
  resources: ResourceDecl;
  /** YAML path of the stage, for locating errors. */
  path: (string | number)[];
}

/** The most laps a loop may have (each lap is a few stages of the graph, held in memory). */
export const MAX_LAPS = 10_000;

/** A declared EM loop: a body of stages repeated `laps` times. */
export interface LoopDecl {
  name: string;
  laps: number;
  /** What `prev.NAME` means in lap 0: body stage name → top-level stage id. */
  start: Record<string, string>;
  body: StageDecl[];
  /** The seed its stages derive theirs from (default: the spec's seed); a sweep may vary it. */
  seed?: number;
  path: (string | number)[];
}

/**
 * The top-level stages and loops of a spec's `stages:` mapping, in declaration order.
 *
 * @example
 * ```ts
 * const items = readItems(raw.stages, r); // [{ name: "data", task: "dataset", … }, { name: "em", laps: 4, … }]
 * ```
 */
export function readItems(stages: unknown, r: SpecReader): (StageDecl | LoopDecl)[] {
  const items: (StageDecl | LoopDecl)[] = [];
  if (!isObj(stages) || Object.keys(stages).length === 0) {
    r.issues.push({
      where: r.locate(stages === undefined ? [] : ["stages"]),
      message: "`stages:` must be a non-empty mapping of stage id → stage",
    });
    return items;
  }
  for (const [id, body] of Object.entries(stages)) {
    const path = ["stages", id];
    if (!ID_RE.test(id)) {
      r.issues.push({
        where: r.locate(path),
        message: `invalid stage id "${id}": use letters, digits, _ and - (starting with a letter)`,
      });
      continue;
    }
    const item = isObj(body) && "loop" in body ? readLoop(id, body, path, r) : readStage(id, body, path, r);
    if (item) items.push(item);
  }
  return items;
}

function readStage(name: string, body: unknown, path: YamlPath, r: SpecReader): StageDecl | null {
  if (!isObj(body)) {
    r.issues.push({
      where: r.locate(path),
      message: `stage "${name}" must be a mapping with a \`task:\` (or a \`loop:\`)`,
    });
    return null;
  }
  reportUnknownKeys(r, body, path, STAGE_KEYS, (k) => `unknown stage field "${k}" in "${name}"`);
  if (typeof body.task !== "string" || body.task === "") {
    r.issues.push({
      where: r.locate(body.task === undefined ? path : [...path, "task"]),
      message: `stage "${name}" needs \`task: NAME\``,
    });
    return null;
  }
  const params = body.params ?? {};
  if (!isObj(params)) {
    r.issues.push({ where: r.locate([...path, "params"]), message: `params of "${name}" must be a mapping` });
  }
  const inputs = readInputs(name, body.inputs ?? {}, path, r);
  if (body.seed !== undefined && (!Number.isInteger(body.seed) || (body.seed as number) < 0)) {
    r.issues.push({
      where: r.locate([...path, "seed"]),
      message: `seed of "${name}" must be a non-negative integer, got ${JSON.stringify(body.seed)}`,
    });
  }
  const resources = body.resources ?? {};
  if (!isObj(resources)) {
    r.issues.push({
      where: r.locate([...path, "resources"]),
      message: `resources of "${name}" must be a mapping`,
    });
  }
  return {
    name,
    task: body.task,
    params: isObj(params) ? params : {},
    inputs,
    seed: body.seed as number | undefined,
    resources: isObj(resources) ? resources : {},
    path,
  };
}

/** A stage's `inputs:`: each a stage reference or a list of them. */
function readInputs(
  name: string,
  inputs: unknown,
  path: YamlPath,
  r: SpecReader,
): Record<string, string | string[]> {
  if (!isObj(inputs)) {
    r.issues.push({
      where: r.locate([...path, "inputs"]),
      message: `inputs of "${name}" must be a mapping of input name → stage`,
    });
    return {};
  }
  for (const [k, v] of Object.entries(inputs)) {
    const ok = typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (!ok) {
      r.issues.push({
        where: r.locate([...path, "inputs", k]),
        message: `input "${k}" of "${name}" must be a stage reference or a list of them, got ${
          JSON.stringify(v)
        }`,
      });
    }
  }
  return inputs as Record<string, string | string[]>;
}

function readLoop(name: string, body: Obj, path: YamlPath, r: SpecReader): LoopDecl | null {
  reportUnknownKeys(r, body, path, LOOP_KEYS, (k) => `unknown loop field "${k}" in "${name}"`);
  const loop = body.loop;
  if (!isObj(loop)) {
    r.issues.push({
      where: r.locate([...path, "loop"]),
      message: `\`loop:\` of "${name}" must be a mapping like { laps: 4, start: { fit: gauss } }`,
    });
    return null;
  }
  reportUnknownKeys(r, loop, [...path, "loop"], LOOP_OPTS, (k) => `unknown loop option "${k}"`);
  const laps = loop.laps;
  if (!Number.isInteger(laps) || (laps as number) < 0) {
    r.issues.push({
      where: r.locate([...path, "loop", "laps"]),
      message: `laps of "${name}" must be a non-negative integer, got ${JSON.stringify(laps)}`,
    });
  }
  if ((laps as number) > MAX_LAPS) {
    r.issues.push({
      where: r.locate([...path, "loop", "laps"]),
      message: `laps of "${name}" is at most ${MAX_LAPS}, got ${laps}`,
    });
  }
  const start = loop.start ?? {};
  if (!isObj(start) || Object.values(start).some((v) => typeof v !== "string")) {
    r.issues.push({
      where: r.locate([...path, "loop", "start"]),
      message: `start of "${name}" must map body stage names to stage ids`,
    });
  }
  if (body.seed !== undefined && (!Number.isInteger(body.seed) || (body.seed as number) < 0)) {
    r.issues.push({
      where: r.locate([...path, "seed"]),
      message: `seed of loop "${name}" must be a non-negative integer, got ${JSON.stringify(body.seed)}`,
    });
  }
  const bodyStages = readLoopBody(name, body.stages, path, r);
  if (isObj(start) && isObj(body.stages)) checkStartNames(name, start, body.stages, path, r);
  return {
    name,
    laps: laps as number,
    start: isObj(start) ? start as Record<string, string> : {},
    body: bodyStages,
    seed: body.seed as number | undefined,
    path,
  };
}

/** The stages of loop `name`'s body (no nested loops). */
function readLoopBody(name: string, stages: unknown, path: YamlPath, r: SpecReader): StageDecl[] {
  const bodyStages: StageDecl[] = [];
  if (!isObj(stages) || Object.keys(stages).length === 0) {
    r.issues.push({
      where: r.locate([...path, "stages"]),
      message: `loop "${name}" needs a non-empty \`stages:\` mapping`,
    });
    return bodyStages;
  }
  for (const [sub, sb] of Object.entries(stages)) {
    const sp = [...path, "stages", sub];
    if (!ID_RE.test(sub)) {
      r.issues.push({
        where: r.locate(sp),
        message: `invalid stage id "${sub}": use letters, digits, _ and -`,
      });
      continue;
    }
    if (isObj(sb) && "loop" in sb) {
      r.issues.push({ where: r.locate(sp), message: `loops cannot be nested ("${name}.${sub}")` });
      continue;
    }
    const s = readStage(sub, sb, sp, r);
    if (s) bodyStages.push(s);
  }
  return bodyStages;
}

/** Every name in `loop: { start: … }` must be a stage of the loop's body. */
function checkStartNames(name: string, start: Obj, stages: Obj, path: YamlPath, r: SpecReader): void {
  for (const k of Object.keys(start)) {
    if (!(k in stages)) {
      r.issues.push({
        where: r.locate([...path, "loop", "start", k]),
        message: `start names "${k}", which is not a stage of loop "${name}" ${
          suggest(k, Object.keys(stages))
        }`,
      });
    }
  }
}
