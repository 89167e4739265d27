/**
 * The reliability harness, shared by the suite (small N, M) and the benchmarks (large K, M):
 *
 * - {@link crashResume}: a small pipeline SIGKILLed (the whole process group, like a machine that
 *   dies) at seeded random moments; each store is rerun to completion, then must verify clean,
 *   hold no debris, and have outputs byte-identical to an uninterrupted run.
 * - {@link fuzzSpecs}: seeded mutations of the shipped specs (keys deleted, duplicated, retyped;
 *   huge and negative numbers; control characters; alias bombs; odd stores). Every case must exit
 *   0, 1 or 2 with a message and no stack trace, and a case that exits 2 leaves the store exactly
 *   as it was.
 *
 * @module
 */
import YAML from "yaml";
import { Rng } from "../lib/random.ts";
import { cli, cliArgs, entryOutputs, FIXTURES, snapshot } from "./cli_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** A stack trace in a CLI's stderr: a user-caused failure must never print one. */
export const STACK_TRACE = /\n\s+at .+:\d+:\d+/;

/** Result of a harness: how many cases passed, of how many, and why the others failed. */
export interface HarnessResult {
  ok: number;
  total: number;
  failures: string[];
}

/** The crash test's pipeline: checkpointed, sharded, list inputs, two stages at a time. */
export const CRASH_SPEC = `
store: store
seed: 13
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 24 } }
  b: { task: fx-scale, inputs: { x: a }, params: { factor: 2 } }
  walk: { task: fx-steps, inputs: { x: a }, params: { steps: 12, every: 2, sleep_ms: 40 } }
  split: { task: fx-sharded, inputs: { x: b, prior: walk }, params: { shards: 4, sleep_ms: 60 } }
  total: { task: fx-sum, inputs: { xs: [walk, split] } }
`;

/** The files of every entry but the manifests (they record times): what must be byte-identical. */
const outputs = (dir: string) => entryOutputs(`${dir}/store`);

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

async function scratchWith(spec: string, prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, spec);
  return dir;
}

/**
 * Kill a run of {@link CRASH_SPEC} at `kills` seeded random moments (one fresh store each), rerun
 * each to completion and check it against an uninterrupted run.
 *
 * @example
 * ```ts
 * const r = await crashResume({ seed: 1, kills: 3 });
 * console.log(`${r.ok}/${r.total}`, r.failures);
 * ```
 */
export async function crashResume(opts: { seed: number; kills: number }): Promise<HarnessResult> {
  const ref = await scratchWith(CRASH_SPEC, "crash-ref-");
  const t0 = performance.now();
  const first = await cli(ref, "run");
  const span = performance.now() - t0;
  if (first.code !== 0) throw new Error(`the uninterrupted run failed: ${first.stderr}`);
  const expected = await outputs(ref);
  const rng = Rng.fromSeed(opts.seed);
  const failures: string[] = [];
  for (let k = 0; k < opts.kills; k++) {
    const delay = Math.round(rng.uniform() * span);
    const dir = await scratchWith(CRASH_SPEC, "crash-");
    const why = await killAndResume(dir, delay, expected);
    if (why) failures.push(`kill ${k} at ${delay} ms: ${why}`);
    else await Deno.remove(dir, { recursive: true });
  }
  await Deno.remove(ref, { recursive: true });
  return { ok: opts.kills - failures.length, total: opts.kills, failures };
}

/** One kill after `delay` ms and the rerun; the reason it went wrong, or null. */
async function killAndResume(
  dir: string,
  delay: number,
  expected: Map<string, string>,
): Promise<string | null> {
  // Its own session: the kill takes the run and every stage process it started, as a crash would.
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), ...cliArgs(["run", "--jobs", "2"])],
    cwd: dir,
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1", INIT_CWD: dir },
  }).spawn();
  await new Promise((r) => setTimeout(r, delay));
  await new Deno.Command("kill", { args: ["-KILL", "--", `-${child.pid}`] }).output();
  await child.status;
  const rerun = await cli(dir, "run");
  if (rerun.code !== 0) return `the rerun exited ${rerun.code}: ${rerun.stderr.slice(0, 500)}`;
  const verify = await cli(dir, "verify");
  if (verify.code !== 0) return `verify exited ${verify.code}: ${verify.stdout.slice(0, 500)}`;
  if (!sameMap(await outputs(dir), expected)) return "outputs differ from the uninterrupted run";
  for (const sub of ["tmp", "locks"]) {
    const left = [...Deno.readDirSync(`${dir}/store/${sub}`)].map((e) => e.name);
    if (left.length) return `${sub}/ still holds ${left.join(", ")}`;
  }
  if (await Deno.lstat(`${dir}/store/LOCK`).then(() => true, () => false)) return "LOCK left behind";
  return null;
}

// ------------------------------------------------------------------------------------------ fuzzing

/** The specs that ship with the project: what the fuzzer mutates. */
export const SHIPPED_SPECS = ["pipeline.yaml", "pipeline-paper.yaml", "pipeline-compare.yaml"];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path of a parsed document (mappings' keys and lists' indices), the root excluded. */
function paths(v: Json, at: Path = []): Path[] {
  if (v === null || typeof v !== "object") return [];
  const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap((k) => [[...at, k], ...paths((v as Record<string | number, Json>)[k], [...at, k])]);
}

function parentOf(doc: Json, path: Path): Record<string | number, Json> {
  let node = doc as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  return node;
}

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

const ODD_VALUES: Json[] = [
  "x",
  "",
  7,
  0,
  -1,
  -1e9,
  1e12,
  1e308,
  2 ** 53 + 2,
  0.5,
  [1, 2],
  [],
  { a: 1 },
  {},
  null,
  true,
  "line\nbreak",
  "tab\there",
  "nul\u0000byte",
  "\u001b[31mred",
  "/",
  "../../..",
];

/** The text of one mutation of `text` (a YAML spec), and what it did. */
function mutate(text: string, rng: Rng): { text: string; what: string } {
  const kind = rng.int(7);
  if (kind === 0) return aliasBomb(text);
  if (kind === 1) {
    // Duplicate a line that sets a key (the same key twice in one mapping, most of the time).
    const lines = text.split("\n");
    const keyed = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[\w-]+:/.test(l));
    const [line, i] = pick(rng, keyed);
    lines.splice(i, 0, line);
    return { text: lines.join("\n"), what: `duplicated line ${i + 1}` };
  }
  const doc = YAML.parse(text) as Json;
  const all = paths(doc);
  const path = pick(rng, all);
  const parent = parentOf(doc, path);
  const key = path.at(-1)!;
  let what: string;
  if (kind === 2) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    what = `deleted ${path.join(".")}`;
  } else if (kind === 3 && !Array.isArray(parent)) {
    const extra = pick(rng, ["stagse", "param", "lpas", "inputz", "seed", "task", "x\ny"]);
    parent[extra] = pick(rng, ODD_VALUES);
    what = `added key ${JSON.stringify(extra)} at ${path.slice(0, -1).join(".") || "top"}`;
  } else if (kind === 4) {
    const numeric = all.filter((p) => typeof parentOf(doc, p)[p.at(-1)!] === "number");
    const at = numeric.length ? pick(rng, numeric) : path;
    const v = pick(rng, [1e12, -1, -1e9, 0, 1e308, 2 ** 31, 1e9, 0.5]);
    parentOf(doc, at)[at.at(-1)!] = v;
    what = `${at.join(".")} = ${v}`;
  } else if (kind === 5) {
    const v = pick(rng, ODD_VALUES.filter((x) => typeof x === "string"));
    parentOf(doc, path)[key] = v;
    what = `${path.join(".")} = ${JSON.stringify(v)}`;
  } else {
    const v = pick(rng, ODD_VALUES);
    parent[key] = v;
    what = `${path.join(".")} = ${JSON.stringify(v)}`;
  }
  return { text: YAML.stringify(doc), what };
}

/** A "billion laughs" document in front of the spec. */
function aliasBomb(text: string): { text: string; what: string } {
  const lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i < 8; i++) lines.push(`lol${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(", ")}]`);
  return { text: `${lines.join("\n")}\n${text}`, what: "alias bomb" };
}

/** What each mutated spec is given to (commands that read a spec and a store, and write nothing). */
const FUZZ_COMMANDS = [["status"], ["run", "--dry-run"], ["verify"], ["gc", "--dry-run"]];

/**
 * Run `cases` seeded mutations of the shipped specs through {@link FUZZ_COMMANDS} against
 * a store that holds entries; every case must end cleanly (see the module's description).
 *
 * @example
 * ```ts
 * const r = await fuzzSpecs({ seed: 7, cases: 10 });
 * console.log(`${r.ok}/${r.total}`, r.failures);
 * ```
 */
export async function fuzzSpecs(opts: { seed: number; cases: number }): Promise<HarnessResult> {
  const rng = Rng.fromSeed(opts.seed);
  const dir = await Deno.makeTempDir({ prefix: "fuzz-" });
  await seedStore(dir);
  const failures: string[] = [];
  for (let c = 0; c < opts.cases; c++) {
    const spec = pick(rng, SHIPPED_SPECS);
    const { text, what } = mutate(await Deno.readTextFile(`${ROOT}/${spec}`), rng);
    await Deno.writeTextFile(`${dir}/pipeline.yaml`, text);
    for (const args of FUZZ_COMMANDS) {
      const why = await cleanCase(dir, args);
      if (why) failures.push(`case ${c} (${spec}: ${what}) ${args.join(" ")}: ${why}`);
    }
  }
  await Deno.remove(dir, { recursive: true });
  const total = opts.cases * FUZZ_COMMANDS.length;
  return { ok: total - failures.length, total, failures };
}

/** A store in `dir/.store` (the shipped specs' store) holding a finished stage, so damage would show. */
async function seedStore(dir: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `store: .store\nplugins: [${FIXTURES}]\nstages: { a: { task: fx-source, params: { n: 4 } } }\n`,
  );
  const r = await cli(dir, "run");
  if (r.code !== 0) throw new Error(`seeding the fuzz store failed: ${r.stderr}`);
}

/** A case that takes longer than this hangs (the slowest valid case plans a few hundred stages). */
const CASE_TIMEOUT_MS = 120_000;

/** Why `pipeline ARGS` on the spec in `dir` did not end cleanly, or null. */
async function cleanCase(dir: string, args: string[]): Promise<string | null> {
  const before = await snapshot(`${dir}/.store`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: dir,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", INIT_CWD: dir },
    signal: AbortSignal.timeout(CASE_TIMEOUT_MS),
  }).output();
  const r = { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  if (out.signal) return `killed by ${out.signal} (hung for ${CASE_TIMEOUT_MS / 1000} s?)`;
  if (![0, 1, 2].includes(r.code)) return `exit ${r.code}`;
  if (STACK_TRACE.test(r.stderr)) return `a stack trace:\n${r.stderr.slice(0, 800)}`;
  if (r.code !== 0 && !r.stderr.trim()) return `exit ${r.code} without a message`;
  if (r.code === 2 && !sameMap(before, await snapshot(`${dir}/.store`))) return "exit 2 changed the store";
  return null;
}
