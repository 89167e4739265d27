/**
 * The pipeline spec: YAML text → a validated, override-applied declaration of stages and EM loops.
 *
 * Every error names where it comes from: `file:line:col` for the YAML, `--set KEY=VALUE` for an
 * override, with the offending key or value and the valid alternatives. Parsing writes nothing.
 *
 * ```yaml
 * seed: 0
 * backend: auto
 * stages:
 *   data: { task: dataset, params: { samples: 4096 } }
 *   obs:  { task: corrupt, inputs: { x: data } }
 *   em:
 *     loop: { laps: 4, start: { fit: gauss } }   # `prev.fit` in lap 0 means `gauss`
 *     stages:
 *       sample: { task: sample-posterior, inputs: { obs: obs, prior: prev.fit } }
 *       fit:    { task: fit-prior, inputs: { samples: sample, init: prev.fit } }
 * ```
 *
 * @module
 */
import { SpecError } from "./_spec_error.ts";
import {
  hasControlChar,
  type Obj,
  reportUnknownKeys,
  type SpecReader,
  TOP_KEYS,
  type YamlPath,
} from "./_spec_keys.ts";
import { applyOverrides, overriddenBy, type Override } from "./_spec_overrides.ts";
import { type LoopDecl, readItems, type StageDecl } from "./_spec_stages.ts";
import { memberOverrides, readSweep, type SweepAxis, type SweepValue } from "./_spec_sweep.ts";
import { readYaml } from "./_spec_yaml.ts";
import { suggest } from "./_suggest.ts";

export { SpecError, type SpecIssue } from "./_spec_error.ts";
export { type Override, parseOverrides } from "./_spec_overrides.ts";
export type { LoopDecl, ResourceDecl, StageDecl } from "./_spec_stages.ts";
export { formatSweepValue, type SweepAxis, type SweepValue } from "./_spec_sweep.ts";
export { suggest } from "./_suggest.ts";

/** A numerical backend name. */
export type Backend = "auto" | "webgpu" | "wasm" | "cpu";
/** Numerical backends a spec may ask for. */
const BACKENDS: readonly Backend[] = ["auto", "webgpu", "wasm", "cpu"];

/** A parsed, validated (structurally) spec with overrides applied. */
export interface Spec {
  /** Absolute path of the spec file. */
  file: string;
  /** Directory paths in the spec are relative to. */
  dir: string;
  name: string;
  /** Absolute path of the store. */
  store: string;
  seed: number;
  backend: Backend;
  /** Absolute paths of plugin modules (extra tasks). */
  plugins: string[];
  /** Top-level stages and loops in declaration order. */
  items: (StageDecl | LoopDecl)[];
  /** The sweep's axes (top-level `sweep:` first, then each loop's); empty when nothing is swept. */
  sweep: SweepAxis[];
  /** The spec as sweep member `values` (one value per axis of {@link Spec.sweep}) declares it. */
  member(values: readonly SweepValue[]): Spec;
  /** Locate a YAML path as `file:line:col` (or the override that set it). */
  locate(path: (string | number)[]): string;
}

/**
 * Is this item a loop?
 *
 * @example
 * ```ts
 * const loops = spec.items.filter(isLoop); // LoopDecl[]
 * ```
 */
export function isLoop(item: StageDecl | LoopDecl): item is LoopDecl {
  return "body" in item;
}

/**
 * Read and validate a spec file, applying overrides.
 *
 * @example
 * ```ts
 * const spec = await loadSpec("pipeline.yaml", parseOverrides(["em.laps=8"]));
 * ```
 */
export async function loadSpec(file: string, overrides: Override[] = []): Promise<Spec> {
  const path = abs(file);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new SpecError([{ where: file, message: `cannot read spec: ${(e as Error).message}` }]);
  }
  return parseSpec(text, path, overrides);
}

/**
 * Validate spec text (see {@link loadSpec}); `file` is used in messages and to resolve paths.
 *
 * @example
 * ```ts
 * const spec = parseSpec("stages:\n  data: { task: dataset }\n", "/work/p.yaml");
 * spec.items[0].name; // "data"
 * ```
 */
export function parseSpec(text: string, file: string, overrides: Override[] = []): Spec {
  const display = file.startsWith(Deno.cwd() + "/") ? file.slice(Deno.cwd().length + 1) : file;
  const yaml = readYaml(text, display);
  const { raw } = yaml;
  const overridden = applyOverrides(raw, overrides);
  const locate = (path: YamlPath) => overriddenBy(overridden, path) ?? yaml.locate(path);
  const r: SpecReader = { locate, issues: [] };
  const dir = abs(file).replace(/\/[^/]*$/, "") || "/";
  const settings = readSettings(raw, r);
  const items = readItems(raw.stages, r);
  const sweep = readSweep(raw, r);
  if (r.issues.length) throw new SpecError(r.issues);
  return {
    file: abs(file),
    dir,
    name: typeof raw.name === "string" ? raw.name : display.replace(/^.*\//, "").replace(/\.ya?ml$/, ""),
    store: resolvePath(dir, settings.store),
    seed: settings.seed,
    backend: settings.backend,
    plugins: settings.plugins.map((p) => resolvePath(dir, p)),
    items,
    sweep,
    member: (values) => parseSpec(text, file, [...overrides, ...memberOverrides(sweep, values)]),
    locate,
  };
}

/** The top-level settings of a spec, with their defaults (unknown keys reported). */
function readSettings(
  raw: Obj,
  r: SpecReader,
): { seed: number; backend: Backend; store: string; plugins: string[] } {
  reportUnknownKeys(r, raw, [], TOP_KEYS, (k) => `unknown key "${k}"`);
  const seed = raw.seed ?? 0;
  if (!Number.isInteger(seed) || (seed as number) < 0) {
    r.issues.push({
      where: r.locate(["seed"]),
      message: `seed must be a non-negative integer, got ${JSON.stringify(seed)}`,
    });
  }
  const backend = raw.backend ?? "auto";
  if (!BACKENDS.includes(backend as Backend)) {
    r.issues.push({
      where: r.locate(["backend"]),
      message: `unknown backend ${JSON.stringify(backend)} ${suggest(String(backend), BACKENDS)}`,
    });
  }
  const store = raw.store ?? ".store";
  if (typeof store !== "string" || store === "") {
    r.issues.push({
      where: r.locate(["store"]),
      message: `store must be a directory path, got ${JSON.stringify(store)}`,
    });
  } else if (hasControlChar(store)) {
    r.issues.push({
      where: r.locate(["store"]),
      message: `store path ${JSON.stringify(store)} contains a control character (a newline, a tab…)`,
    });
  }
  const plugins = raw.plugins ?? [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== "string")) {
    r.issues.push({ where: r.locate(["plugins"]), message: "plugins must be a list of module paths" });
  }
  return {
    seed: seed as number,
    backend: backend as Backend,
    store: store as string,
    plugins: plugins as string[],
  };
}

function abs(file: string): string {
  return file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith("/") ? p : `${dir}/${p}`.replace(/\/\.\//g, "/").replace(/\/\.$/, "");
}
