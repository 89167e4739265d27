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
import YAML, { type Document, LineCounter } from "yaml";

/** Numerical backends a spec may ask for. */
export const BACKENDS = ["auto", "webgpu", "wasm", "cpu"] as const;
/** A numerical backend name. */
export type Backend = typeof BACKENDS[number];

/** One problem in a spec, with where it is. */
export interface SpecIssue {
  /** `file:line:col`, or `--set KEY=VALUE`, or the file alone. */
  where: string;
  message: string;
}

/** An invalid spec or command line: every problem found, each with its place. Exit code 2. */
export class SpecError extends Error {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[]) {
    super(issues.map((i) => `${i.where}: ${i.message}`).join("\n"));
    this.name = "SpecError";
    this.issues = issues;
  }
}

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

/** A declared EM loop: a body of stages repeated `laps` times. */
export interface LoopDecl {
  name: string;
  laps: number;
  /** What `prev.NAME` means in lap 0: body stage name → top-level stage id. */
  start: Record<string, string>;
  body: StageDecl[];
  path: (string | number)[];
}

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
  /** Locate a YAML path as `file:line:col` (or the override that set it). */
  locate(path: (string | number)[]): string;
}

/** Is this item a loop? */
export function isLoop(item: StageDecl | LoopDecl): item is LoopDecl {
  return "body" in item;
}

const TOP_KEYS = ["name", "description", "store", "seed", "backend", "plugins", "stages"];
const STAGE_KEYS = ["task", "params", "inputs", "seed", "resources", "description"];
const LOOP_KEYS = ["loop", "stages", "description"];
const LOOP_OPTS = ["laps", "start"];
const ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Closest candidates to a misspelt name, for "did you mean" hints. */
export function suggest(word: string, candidates: readonly string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i][j] = Math.min(
          d[i - 1][j] + 1,
          d[i][j - 1] + 1,
          d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        );
      }
    }
    return d[a.length][b.length];
  };
  const close = candidates.filter((c) => {
    const d = dist(word, c);
    return d <= Math.max(1, Math.floor(c.length / 3)) && d < Math.max(word.length, c.length);
  });
  const list = candidates.length ? `valid: ${candidates.join(", ")}` : "none are valid here";
  return close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? (${list})` : `(${list})`;
}

/** An override `KEY=VALUE` from `--set`, parsed. */
export interface Override {
  flag: string;
  path: string[];
  value: unknown;
}

/** Parse `--set` flags; the value is read as YAML (`16` is a number, `[1, 2]` a list, `wasm` a string). */
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Read and validate a spec file, applying overrides.
 *
 * @example
 * ```ts
 * const spec = await loadSpec("pipeline.yaml", parseOverrides(["em.laps=8"]));
 * ```
 */
export async function loadSpec(file: string, overrides: Override[] = []): Promise<Spec> {
  const abs = file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
  let text: string;
  try {
    text = await Deno.readTextFile(abs);
  } catch (e) {
    throw new SpecError([{ where: file, message: `cannot read spec: ${(e as Error).message}` }]);
  }
  return parseSpec(text, abs, overrides);
}

/** Validate spec text (see {@link loadSpec}); `file` is used in messages and to resolve paths. */
export function parseSpec(text: string, file: string, overrides: Override[] = []): Spec {
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const display = file.startsWith(Deno.cwd() + "/") ? file.slice(Deno.cwd().length + 1) : file;
  const yamlIssues: SpecIssue[] = doc.errors.map((e) => ({
    where: `${display}:${lines.linePos(e.pos[0]).line}:${lines.linePos(e.pos[0]).col}`,
    message: e.code === "DUPLICATE_KEY"
      ? `duplicate key (a stage id or field is declared twice): ${firstLine(e.message)}`
      : `YAML syntax error: ${firstLine(e.message)}`,
  }));
  if (yamlIssues.length) throw new SpecError(yamlIssues);
  const raw = doc.toJS() as unknown;
  if (!isObj(raw)) {
    throw new SpecError([{ where: display, message: "a spec is a YAML mapping with a `stages:` key" }]);
  }

  const overridden = new Map<string, string>();
  const locate = (path: (string | number)[]) => {
    for (let n = path.length; n > 0; n--) {
      const flag = overridden.get(path.slice(0, n).join("\u0000"));
      if (flag) return `--set ${flag}`;
    }
    return locateIn(doc, lines, display, path);
  };
  const issues: SpecIssue[] = [];
  for (const o of overrides) applyOverride(raw, o, overridden, issues);
  if (issues.length) throw new SpecError(issues);

  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) {
      issues.push({ where: locate([k]), message: `unknown key "${k}" ${suggest(k, TOP_KEYS)}` });
    }
  }
  const dir = abs(file).replace(/\/[^/]*$/, "") || "/";
  const seed = raw.seed ?? 0;
  if (!Number.isInteger(seed) || (seed as number) < 0) {
    issues.push({
      where: locate(["seed"]),
      message: `seed must be a non-negative integer, got ${JSON.stringify(seed)}`,
    });
  }
  const backend = raw.backend ?? "auto";
  if (!BACKENDS.includes(backend as Backend)) {
    issues.push({
      where: locate(["backend"]),
      message: `unknown backend ${JSON.stringify(backend)} ${suggest(String(backend), BACKENDS)}`,
    });
  }
  const store = raw.store ?? ".store";
  if (typeof store !== "string" || store === "") {
    issues.push({
      where: locate(["store"]),
      message: `store must be a directory path, got ${JSON.stringify(store)}`,
    });
  }
  const plugins = raw.plugins ?? [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== "string")) {
    issues.push({ where: locate(["plugins"]), message: "plugins must be a list of module paths" });
  }
  const items: (StageDecl | LoopDecl)[] = [];
  if (!isObj(raw.stages) || Object.keys(raw.stages).length === 0) {
    issues.push({
      where: locate(raw.stages === undefined ? [] : ["stages"]),
      message: "`stages:` must be a non-empty mapping of stage id → stage",
    });
  } else {
    for (const [id, body] of Object.entries(raw.stages)) {
      const path = ["stages", id];
      if (!ID_RE.test(id)) {
        issues.push({
          where: locate(path),
          message: `invalid stage id "${id}": use letters, digits, _ and - (starting with a letter)`,
        });
        continue;
      }
      if (isObj(body) && "loop" in body) {
        const loop = readLoop(id, body, path, locate, issues);
        if (loop) items.push(loop);
      } else {
        const stage = readStage(id, body, path, locate, issues);
        if (stage) items.push(stage);
      }
    }
  }
  if (issues.length) throw new SpecError(issues);
  return {
    file: abs(file),
    dir,
    name: typeof raw.name === "string" ? raw.name : display.replace(/^.*\//, "").replace(/\.ya?ml$/, ""),
    store: resolvePath(dir, store as string),
    seed: seed as number,
    backend: backend as Backend,
    plugins: (plugins as string[]).map((p) => resolvePath(dir, p)),
    items,
    locate,
  };
}

function abs(file: string): string {
  return file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith("/") ? p : `${dir}/${p}`.replace(/\/\.\//g, "/").replace(/\/\.$/, "");
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

function locateIn(doc: Document, lines: LineCounter, display: string, path: (string | number)[]): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      // Point at the key when the path names a mapping entry (more useful than its value).
      const parent = n > 0 ? (n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)) : null;
      const items = (parent as { items?: { key?: { value?: unknown; range?: number[] } }[] } | null)?.items;
      const pair = items?.find((p) => p.key?.value === path[n - 1]);
      const at = pair?.key?.range?.[0] ?? range[0];
      const pos = lines.linePos(at);
      return `${display}:${pos.line}:${pos.col}`;
    }
  }
  return display;
}

function readStage(
  name: string,
  body: unknown,
  path: (string | number)[],
  locate: (p: (string | number)[]) => string,
  issues: SpecIssue[],
): StageDecl | null {
  if (!isObj(body)) {
    issues.push({
      where: locate(path),
      message: `stage "${name}" must be a mapping with a \`task:\` (or a \`loop:\`)`,
    });
    return null;
  }
  for (const k of Object.keys(body)) {
    if (!STAGE_KEYS.includes(k)) {
      issues.push({
        where: locate([...path, k]),
        message: `unknown stage field "${k}" in "${name}" ${suggest(k, STAGE_KEYS)}`,
      });
    }
  }
  if (typeof body.task !== "string" || body.task === "") {
    issues.push({
      where: locate(body.task === undefined ? path : [...path, "task"]),
      message: `stage "${name}" needs \`task: NAME\``,
    });
    return null;
  }
  const params = body.params ?? {};
  if (!isObj(params)) {
    issues.push({ where: locate([...path, "params"]), message: `params of "${name}" must be a mapping` });
  }
  const inputs = body.inputs ?? {};
  if (!isObj(inputs)) {
    issues.push({
      where: locate([...path, "inputs"]),
      message: `inputs of "${name}" must be a mapping of input name → stage`,
    });
  } else {
    for (const [k, v] of Object.entries(inputs)) {
      const ok = typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
      if (!ok) {
        issues.push({
          where: locate([...path, "inputs", k]),
          message: `input "${k}" of "${name}" must be a stage reference or a list of them, got ${
            JSON.stringify(v)
          }`,
        });
      }
    }
  }
  if (body.seed !== undefined && (!Number.isInteger(body.seed) || (body.seed as number) < 0)) {
    issues.push({
      where: locate([...path, "seed"]),
      message: `seed of "${name}" must be a non-negative integer, got ${JSON.stringify(body.seed)}`,
    });
  }
  const resources = body.resources ?? {};
  if (!isObj(resources)) {
    issues.push({
      where: locate([...path, "resources"]),
      message: `resources of "${name}" must be a mapping`,
    });
  }
  return {
    name,
    task: body.task,
    params: isObj(params) ? params : {},
    inputs: isObj(inputs) ? inputs as Record<string, string | string[]> : {},
    seed: body.seed as number | undefined,
    resources: isObj(resources) ? resources : {},
    path,
  };
}

function readLoop(
  name: string,
  body: Obj,
  path: (string | number)[],
  locate: (p: (string | number)[]) => string,
  issues: SpecIssue[],
): LoopDecl | null {
  for (const k of Object.keys(body)) {
    if (!LOOP_KEYS.includes(k)) {
      issues.push({
        where: locate([...path, k]),
        message: `unknown loop field "${k}" in "${name}" ${suggest(k, LOOP_KEYS)}`,
      });
    }
  }
  const loop = body.loop;
  if (!isObj(loop)) {
    issues.push({
      where: locate([...path, "loop"]),
      message: `\`loop:\` of "${name}" must be a mapping like { laps: 4, start: { fit: gauss } }`,
    });
    return null;
  }
  for (const k of Object.keys(loop)) {
    if (!LOOP_OPTS.includes(k)) {
      issues.push({
        where: locate([...path, "loop", k]),
        message: `unknown loop option "${k}" ${suggest(k, LOOP_OPTS)}`,
      });
    }
  }
  const laps = loop.laps;
  if (!Number.isInteger(laps) || (laps as number) < 0) {
    issues.push({
      where: locate([...path, "loop", "laps"]),
      message: `laps of "${name}" must be a non-negative integer, got ${JSON.stringify(laps)}`,
    });
  }
  const start = loop.start ?? {};
  if (!isObj(start) || Object.values(start).some((v) => typeof v !== "string")) {
    issues.push({
      where: locate([...path, "loop", "start"]),
      message: `start of "${name}" must map body stage names to stage ids`,
    });
  }
  const stages = body.stages;
  const bodyStages: StageDecl[] = [];
  if (!isObj(stages) || Object.keys(stages).length === 0) {
    issues.push({
      where: locate([...path, "stages"]),
      message: `loop "${name}" needs a non-empty \`stages:\` mapping`,
    });
  } else {
    for (const [sub, sb] of Object.entries(stages)) {
      const sp = [...path, "stages", sub];
      if (!ID_RE.test(sub)) {
        issues.push({
          where: locate(sp),
          message: `invalid stage id "${sub}": use letters, digits, _ and -`,
        });
        continue;
      }
      if (isObj(sb) && "loop" in sb) {
        issues.push({ where: locate(sp), message: `loops cannot be nested ("${name}.${sub}")` });
        continue;
      }
      const s = readStage(sub, sb, sp, locate, issues);
      if (s) bodyStages.push(s);
    }
  }
  if (isObj(start)) {
    for (const k of Object.keys(start)) {
      if (isObj(stages) && !(k in stages)) {
        issues.push({
          where: locate([...path, "loop", "start", k]),
          message: `start names "${k}", which is not a stage of loop "${name}" ${
            suggest(k, Object.keys(stages))
          }`,
        });
      }
    }
  }
  return {
    name,
    laps: laps as number,
    start: isObj(start) ? start as Record<string, string> : {},
    body: bodyStages,
    path,
  };
}

const STAGE_FIELDS = new Set(["task", "params", "inputs", "seed", "resources"]);

/**
 * Apply `--set a.b.c=v` to the raw YAML object. Addressing:
 * `seed=1`, `backend=wasm` (top level); `obs.sigma_y=0.1` (a stage parameter); `obs.seed=3`,
 * `obs.inputs.x=data2` (a stage field); `em.laps=16` (a loop option); `em.fit.steps=100` (a
 * parameter of a loop body stage).
 */
function applyOverride(raw: Obj, o: Override, overridden: Map<string, string>, issues: SpecIssue[]): void {
  const where = `--set ${o.flag}`;
  const [head, ...rest] = o.path;
  let target: (string | number)[];
  if (rest.length === 0) {
    if (!TOP_KEYS.includes(head) || head === "stages") {
      issues.push({
        where,
        message: `"${head}" is not a top-level setting ${
          suggest(head, TOP_KEYS.filter((k) => k !== "stages"))
        }; set a stage parameter with STAGE.PARAM=VALUE`,
      });
      return;
    }
    target = [head];
  } else {
    const stages = isObj(raw.stages) ? raw.stages : {};
    const stage = stages[head];
    if (!isObj(stage)) {
      issues.push({ where, message: `no stage or loop "${head}" ${suggest(head, Object.keys(stages))}` });
      return;
    }
    if ("loop" in stage) {
      const [second, ...more] = rest;
      if (LOOP_OPTS.includes(second)) {
        target = ["stages", head, "loop", second, ...more];
      } else {
        const body = isObj(stage.stages) ? stage.stages : {};
        if (!isObj(body[second])) {
          issues.push({
            where,
            message: `loop "${head}" has no option or stage "${second}" ${
              suggest(second, [...LOOP_OPTS, ...Object.keys(body)])
            }`,
          });
          return;
        }
        if (more.length === 0) {
          issues.push({
            where,
            message: `name a parameter or field of "${head}.${second}", e.g. ${head}.${second}.PARAM=VALUE`,
          });
          return;
        }
        target = ["stages", head, "stages", second, ...stageFieldPath(more)];
      }
    } else {
      target = ["stages", head, ...stageFieldPath(rest)];
    }
  }
  setIn(raw, target, o.value);
  overridden.set(target.join("\u0000"), o.flag);
}

function stageFieldPath(rest: string[]): string[] {
  return STAGE_FIELDS.has(rest[0]) ? rest : ["params", ...rest];
}

function setIn(obj: Obj, path: (string | number)[], value: unknown): void {
  let cur: Obj = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = String(path[i]);
    if (!isObj(cur[k])) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[String(path[path.length - 1])] = value;
}
