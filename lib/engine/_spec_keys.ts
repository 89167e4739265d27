/**
 * The keys a spec may have, and the small checks every part of spec reading shares (private).
 *
 * @module
 */
import type { SpecIssue } from "./_spec_error.ts";
import { suggest } from "./_suggest.ts";

/** Keys of the top level of a spec. */
export const TOP_KEYS = ["name", "description", "store", "seed", "backend", "plugins", "sweep", "stages"];
/** Keys of a stage. */
export const STAGE_KEYS = ["task", "params", "inputs", "seed", "resources", "description"];
/** Keys of a loop. */
export const LOOP_KEYS = ["loop", "stages", "seed", "sweep", "description"];
/** Keys of a loop's `loop:` options. */
export const LOOP_OPTS = ["laps", "start"];
/** Stage fields an override may set (anything else it names is a parameter). */
export const STAGE_FIELDS = new Set(["task", "params", "inputs", "seed", "resources"]);
/** A valid stage or loop id. */
export const ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A YAML mapping, as read. */
export type Obj = Record<string, unknown>;

/**
 * Is `v` a mapping (not a list, not null)?
 *
 * @example
 * ```ts
 * isObj({ a: 1 }); // true
 * isObj([1]); // false
 * ```
 */
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A YAML path (keys and list indices), as a spec's `locate` takes it. */
export type YamlPath = (string | number)[];

/** Where spec reading reports: how to locate a YAML path, and the issues found so far. */
export interface SpecReader {
  locate(path: YamlPath): string;
  issues: SpecIssue[];
}

/**
 * Report every key of mapping `obj` (at YAML `path`) that is not in `valid`, as
 * `<what key> <did you mean…>`.
 *
 * @example
 * ```ts
 * reportUnknownKeys(r, body, path, STAGE_KEYS, (k) => `unknown stage field "${k}" in "${name}"`);
 * ```
 */
export function reportUnknownKeys(
  r: SpecReader,
  obj: Obj,
  path: YamlPath,
  valid: readonly string[],
  what: (key: string) => string,
): void {
  const unknown = Object.keys(obj).filter((k) => !valid.includes(k));
  // Locating a key costs a scan of its mapping: a runaway spec gets a summary, not a quadratic wait.
  for (const k of unknown.slice(0, MAX_KEY_ISSUES)) {
    r.issues.push({ where: r.locate([...path, k]), message: `${what(k)} ${suggest(k, valid)}` });
  }
  if (unknown.length > MAX_KEY_ISSUES) {
    r.issues.push({
      where: r.locate(path),
      message: `and ${unknown.length - MAX_KEY_ISSUES} more unknown keys (valid: ${valid.join(", ")})`,
    });
  }
}

/** Unknown keys of one mapping reported one by one; the rest are counted. */
const MAX_KEY_ISSUES = 20;

/**
 * Does `s` contain a control character (a newline, a tab, NUL…)? Paths, ids and flags with one
 * are refused: they would end a line of a job script and start a command of their own.
 *
 * @example
 * ```ts
 * hasControlChar("/x/st\ntouch /x/PWNED #"); // true
 * hasControlChar("/data/store"); // false
 * ```
 */
export function hasControlChar(s: string): boolean {
  // deno-lint-ignore no-control-regex
  return /[\x00-\x1f\x7f]/.test(s);
}
