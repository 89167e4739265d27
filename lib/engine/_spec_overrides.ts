/**
 * `--set KEY=VALUE` overrides (private; spec.ts re-exports {@link parseOverrides}): parsed from the
 * command line, applied to the raw YAML mapping before it is validated, and remembered so that an
 * error in an overridden value names the flag rather than the file.
 *
 * @module
 */
import YAML from "yaml";
import { SpecError, type SpecIssue } from "./_spec_error.ts";
import { isObj, LOOP_OPTS, type Obj, STAGE_FIELDS, TOP_KEYS, type YamlPath } from "./_spec_keys.ts";
import { suggest } from "./_suggest.ts";

/** An override `KEY=VALUE` from `--set`, parsed. */
export interface Override {
  flag: string;
  path: string[];
  value: unknown;
  /** Where an error in the value points (default `--set FLAG`; a sweep member names its sweep key). */
  where?: string;
}

/**
 * Parse `--set` flags; the value is read as YAML (`16` is a number, `[1, 2]` a list, `wasm` a string).
 *
 * @example
 * ```ts
 * parseOverrides(["em.laps=16"]); // [{ flag: "em.laps=16", path: ["em", "laps"], value: 16 }]
 * ```
 */
export function parseOverrides(flags: readonly string[]): Override[] {
  const issues: SpecIssue[] = [];
  const out: Override[] = [];
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const where = `--set ${flag}`;
    if (eq <= 0) {
      issues.push({ where, message: `expected KEY=VALUE, e.g. --set em.laps=16` });
      continue;
    }
    const path = flag.slice(0, eq).split(".");
    if (path.some((p) => p === "")) {
      issues.push({ where, message: `empty segment in key "${flag.slice(0, eq)}"` });
      continue;
    }
    let value: unknown;
    try {
      value = YAML.parse(flag.slice(eq + 1));
    } catch (e) {
      issues.push({ where, message: `value is not valid YAML: ${(e as Error).message.split("\n")[0]}` });
      continue;
    }
    out.push({ flag, path, value: value === null && flag.slice(eq + 1) === "" ? "" : value });
  }
  if (issues.length) throw new SpecError(issues);
  return out;
}

/** The flags that set YAML paths: YAML path (joined with NUL) → where the value came from. */
export type Overridden = Map<string, string>;

/**
 * Apply every override to the raw YAML mapping (see {@link applyOverride}); throws a
 * {@link SpecError} naming every override that addresses nothing.
 *
 * @example
 * ```ts
 * const overridden = applyOverrides(raw, parseOverrides(["seed=3"])); // raw.seed === 3
 * ```
 */
export function applyOverrides(raw: Obj, overrides: readonly Override[]): Overridden {
  const overridden: Overridden = new Map();
  const issues: SpecIssue[] = [];
  for (const o of overrides) {
    const target = overrideTarget(raw, o, issues);
    if (target === null) continue;
    setIn(raw, target, o.value);
    overridden.set(target.join("\u0000"), o.where ?? `--set ${o.flag}`);
  }
  if (issues.length) throw new SpecError(issues);
  return overridden;
}

/**
 * `--set FLAG` when an override set `path` or a mapping above it, else undefined.
 *
 * @example
 * ```ts
 * overriddenBy(overridden, ["stages", "obs", "params", "sigma_y"]); // "--set obs.sigma_y=0.1"
 * ```
 */
export function overriddenBy(overridden: Overridden, path: YamlPath): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const where = overridden.get(path.slice(0, n).join("\u0000"));
    if (where) return where;
  }
  return undefined;
}

/**
 * The YAML path `--set a.b.c=v` sets, or null (with an issue). Addressing:
 * `seed=1`, `backend=wasm` (top level); `obs.sigma_y=0.1` (a stage parameter); `obs.seed=3`,
 * `obs.inputs.x=data2` (a stage field); `em.laps=16` (a loop option); `em.fit.steps=100` (a
 * parameter of a loop body stage); `em.seed=2` (the seed a loop's stages derive theirs from).
 *
 * @example
 * ```ts
 * overrideTarget(raw, parseOverrides(["em.fit.lr=0.01"])[0], issues); // ["stages", "em", "stages", "fit", "params", "lr"]
 * ```
 */
export function overrideTarget(raw: Obj, o: Override, issues: SpecIssue[]): YamlPath | null {
  const where = o.where ?? `--set ${o.flag}`;
  const [head, ...rest] = o.path;
  if (rest.length === 0) {
    if (!TOP_KEYS.includes(head) || head === "stages") {
      issues.push({
        where,
        message: `"${head}" is not a top-level setting ${
          suggest(head, TOP_KEYS.filter((k) => k !== "stages"))
        }; set a stage parameter with STAGE.PARAM=VALUE`,
      });
      return null;
    }
    return [head];
  }
  const stages = isObj(raw.stages) ? raw.stages : {};
  const stage = stages[head];
  if (!isObj(stage)) {
    issues.push({ where, message: `no stage or loop "${head}" ${suggest(head, Object.keys(stages))}` });
    return null;
  }
  if (!("loop" in stage)) return ["stages", head, ...stageFieldPath(rest)];
  const [second, ...more] = rest;
  if (LOOP_OPTS.includes(second)) return ["stages", head, "loop", second, ...more];
  if (second === "seed" && more.length === 0) return ["stages", head, "seed"];
  const body = isObj(stage.stages) ? stage.stages : {};
  if (!isObj(body[second])) {
    issues.push({
      where,
      message: `loop "${head}" has no option or stage "${second}" ${
        suggest(second, [...LOOP_OPTS, ...Object.keys(body)])
      }`,
    });
    return null;
  }
  if (more.length === 0) {
    issues.push({
      where,
      message: `name a parameter or field of "${head}.${second}", e.g. ${head}.${second}.PARAM=VALUE`,
    });
    return null;
  }
  return ["stages", head, "stages", second, ...stageFieldPath(more)];
}

function stageFieldPath(rest: string[]): string[] {
  return STAGE_FIELDS.has(rest[0]) ? rest : ["params", ...rest];
}

function setIn(obj: Obj, path: YamlPath, value: unknown): void {
  let cur: Obj = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = String(path[i]);
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[String(path[path.length - 1])] = value;
}
