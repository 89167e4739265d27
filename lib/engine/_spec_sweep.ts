/**
 * Reading a spec's sweeps (private; spec.ts re-exports the types): `sweep:` at the top level, with
 * `--set`-style addresses (`seed`, `em.seed`, `em.fit.lr`, `obs.sigma_y`), and `sweep:` on a loop, with
 * addresses relative to the loop (`seed`, `fit.lr`). Each is an axis: a key and its values; the
 * members of the sweep are every combination of the axes' values (graph.ts expands them).
 *
 * ```yaml
 * sweep: { obs.sigma_y: [0.01, 0.1] }
 * stages:
 *   em:
 *     loop: { laps: 4, start: { fit: gauss } }
 *     sweep: { seed: [0, 1, 2], fit.lr: [1.0e-3, 3.0e-4] }
 * ```
 *
 * @module
 */
import { isObj, type Obj, type SpecReader, type YamlPath } from "./_spec_keys.ts";
import { type Override, overrideTarget } from "./_spec_overrides.ts";

/** A value a sweep may take: a number, a boolean, or a short word (it becomes part of stage ids). */
export type SweepValue = number | string | boolean;

/** One axis of a sweep: a `--set`-style key and the values it takes. */
export interface SweepAxis {
  /** The full address, as `--set` takes it: `seed`, `em.seed`, `em.fit.lr`. */
  key: string;
  /** The name it has in stage ids (`em@seed=1[3].fit`): the key's last segment. */
  label: string;
  values: SweepValue[];
  /** `file:line:col` of the key in the spec. */
  where: string;
}

/** The most members (combinations of values) a spec's sweeps may have. */
export const MAX_SWEEP_MEMBERS = 1024;

/** A word a string value may be: it is written into stage ids. */
const WORD_RE = /^[A-Za-z0-9_.+-]+$/;

/**
 * How a sweep value is written in stage ids: `1`, `0.001`, `1e-7`, `true`, `mmps`.
 *
 * @example
 * ```ts
 * formatSweepValue(3e-4); // "0.0003"
 * ```
 */
export function formatSweepValue(v: SweepValue): string {
  return String(v);
}

/**
 * The axes of a spec's sweeps: the top-level `sweep:` first, then each loop's, in declaration order.
 * Bad keys (unknown, or not a seed or a parameter), empty lists, non-scalar values and values that
 * would give two members the same id are issues at the key's place.
 *
 * @example
 * ```ts
 * readSweep(raw, r); // [{ key: "em.seed", label: "seed", values: [0, 1, 2], where: "p.yaml:9:13" }]
 * ```
 */
export function readSweep(raw: Obj, r: SpecReader): SweepAxis[] {
  const axes: SweepAxis[] = [];
  const declared: { prefix: string; path: YamlPath; sweep: unknown }[] = [];
  if (raw.sweep !== undefined) declared.push({ prefix: "", path: ["sweep"], sweep: raw.sweep });
  for (const [id, item] of Object.entries(isObj(raw.stages) ? raw.stages : {})) {
    if (isObj(item) && "loop" in item && item.sweep !== undefined) {
      declared.push({ prefix: `${id}.`, path: ["stages", id, "sweep"], sweep: item.sweep });
    }
  }
  for (const { prefix, path, sweep } of declared) {
    if (!isObj(sweep) || Object.keys(sweep).length === 0) {
      r.issues.push({
        where: r.locate(path),
        message: "`sweep:` must be a non-empty mapping of key → list of values, e.g. { seed: [0, 1, 2] }",
      });
      continue;
    }
    for (const [k, values] of Object.entries(sweep)) {
      const axis = readAxis(raw, `${prefix}${k}`, values, r.locate([...path, k]), r);
      if (!axis) continue;
      if (axes.some((a) => a.key === axis.key)) {
        r.issues.push({ where: axis.where, message: `sweep key "${axis.key}" is swept twice` });
        continue;
      }
      axes.push(axis);
    }
  }
  const members = axes.reduce((n, a) => n * a.values.length, 1);
  if (members > MAX_SWEEP_MEMBERS) {
    r.issues.push({
      where: axes[0].where,
      message:
        `the sweeps have ${members} members (every combination of values); at most ${MAX_SWEEP_MEMBERS}`,
    });
  }
  return axes;
}

/** One key → values entry, checked; null (with issues) when it is unusable. */
function readAxis(raw: Obj, key: string, values: unknown, where: string, r: SpecReader): SweepAxis | null {
  const bad = (message: string) => (r.issues.push({ where, message: `sweep "${key}": ${message}` }), null);
  const path = key.split(".");
  if (path.some((p) => p === "")) return bad("empty segment in the key");
  const issues = r.issues.length;
  const target = overrideTarget(raw, { flag: key, path, value: null, where }, r.issues);
  if (target === null) {
    // overrideTarget said why (no such stage, loop or option); name the sweep key in its message.
    for (const i of r.issues.slice(issues)) i.message = `sweep "${key}": ${i.message}`;
    return null;
  }
  if (!sweepable(target)) {
    return bad(
      "only seeds and parameters can be swept (seed, LOOP.seed, STAGE.seed, STAGE.PARAM, LOOP.STAGE.PARAM)",
    );
  }
  if (!Array.isArray(values) || values.length === 0) {
    return bad(`needs a non-empty list of values, got ${JSON.stringify(values)}`);
  }
  const seed = target[target.length - 1] === "seed" && !target.includes("params");
  for (const v of values) {
    const ok = typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)) ||
      (typeof v === "string" && WORD_RE.test(v));
    if (!ok) {
      return bad(
        `value ${
          JSON.stringify(v)
        } is not a scalar usable in a stage id (a number, true/false, or a word of letters, digits, _ . + -)`,
      );
    }
    if (seed && (!Number.isInteger(v) || (v as number) < 0)) {
      return bad(`a seed must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
  }
  const seen = new Map<string, SweepValue>();
  for (const v of values as SweepValue[]) {
    const id = formatSweepValue(v);
    if (seen.has(id)) {
      return bad(
        `values ${JSON.stringify(seen.get(id))} and ${
          JSON.stringify(v)
        } would give two members the same stage ids (${path.at(-1)}=${id})`,
      );
    }
    seen.set(id, v);
  }
  return { key, label: path[path.length - 1], values: values as SweepValue[], where };
}

/** The spec's seed, a loop's or a stage's seed, or a stage parameter (nothing structural). */
function sweepable(target: YamlPath): boolean {
  if (target.length === 1) return target[0] === "seed";
  if (target[0] !== "stages") return false;
  const rest = target.slice(2); // after "stages", id
  if (rest.length === 1) return rest[0] === "seed";
  if (rest[0] === "params") return true;
  return rest[0] === "stages" && (rest[2] === "params" || (rest.length === 3 && rest[2] === "seed"));
}

/**
 * The overrides that make sweep member `values` (one value per axis) out of the spec; an error in
 * a value points at its sweep key.
 *
 * @example
 * ```ts
 * memberOverrides(axes, [1]); // [{ flag: "em.seed=1", path: ["em", "seed"], value: 1, where: "p.yaml:9:13 (sweep em.seed=1)" }]
 * ```
 */
export function memberOverrides(axes: readonly SweepAxis[], values: readonly SweepValue[]): Override[] {
  return axes.map((a, i) => {
    const flag = `${a.key}=${formatSweepValue(values[i])}`;
    return { flag, path: a.key.split("."), value: values[i], where: `${a.where} (sweep ${flag})` };
  });
}
