/**
 * Running the real CLI in a subprocess from tests, in a scratch directory.
 *
 * @module
 */
import { sha256 } from "../lib/engine/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Absolute path of the fixture tasks plugin. */
export const FIXTURES = `${ROOT}/tests/fixtures/tasks.ts`;

/** Result of one CLI invocation. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The argv that runs the CLI. */
export function cliArgs(args: string[]): string[] {
  return ["run", "-A", `--config=${ROOT}/deno.json`, `${ROOT}/cli.ts`, ...args];
}

/** Run `pipeline ARGS` in `cwd` and wait for it. */
export function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  return cliWith(cwd, {}, ...args);
}

/** Run `pipeline ARGS` in `cwd` with extra environment variables, and wait for it. */
export async function cliWith(
  cwd: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd,
    stdout: "piped",
    stderr: "piped",
    // `deno task test` sets INIT_CWD, which the CLI honours for relative paths: point it here.
    env: { NO_COLOR: "1", INIT_CWD: cwd, ...env },
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Start `pipeline ARGS` in `cwd` in its own session (so the whole group can be killed like a crashed machine). */
export function spawnCli(cwd: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command("setsid", {
    args: [Deno.execPath(), ...cliArgs(args)],
    cwd,
    stdout: "piped",
    stderr: "piped",
    // `deno task test` sets INIT_CWD, which the CLI honours for relative paths: point it here.
    env: { NO_COLOR: "1", INIT_CWD: cwd },
  }).spawn();
}

/** A fresh scratch directory with `pipeline.yaml` containing `yaml`. */
export async function scratch(yaml: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pipeline-test-" });
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, yaml);
  return dir;
}

/** Stage ids a run reported as run ("✓ ID in …" lines). */
export function ranStages(stdout: string): string[] {
  return [...stdout.matchAll(/^✓ (\S+) in /gm)].map((m) => m[1]).sort();
}

/** Status of every stage, from `status --json`. */
export async function statuses(
  cwd: string,
  ...args: string[]
): Promise<Record<string, { status: string; key: string; reasons: string[] }>> {
  const r = await cli(cwd, "status", "--json", ...args);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  const out: Record<string, { status: string; key: string; reasons: string[] }> = {};
  for (const s of JSON.parse(r.stdout).stages) out[s.id] = s;
  return out;
}

/** Manifest of a stage's entry, via `show --json`. */
export async function show(cwd: string, id: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(cwd, "show", id, "--json", ...args);
  if (r.code !== 0) throw new Error(`show failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every file under `dir` with the hash of its bytes, for comparing store states. */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`, r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p, r);
      else out.set(r, sha256(await Deno.readFile(p)));
    }
  };
  try {
    await walk(dir, "");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/** The files of every entry of the store at `store` but the manifests (they record times). */
export async function entryOutputs(store: string): Promise<Map<string, string>> {
  const all = await snapshot(`${store}/entries`);
  return new Map([...all].filter(([path]) => !path.endsWith("/manifest.json")).sort());
}

/** A slow checkpointed walk: 40 steps of 100 ms, a checkpoint every 2 (for interrupting mid-stage). */
export const SLOW_WALK = `
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 8 } }
  walk: { task: fx-steps, inputs: { x: a }, params: { steps: 40, every: 2, sleep_ms: 100 } }
`;

/** Wait (up to `ms`) until the store in `dir/store` holds a checkpoint of slot `slot`; whether it does. */
export async function untilCheckpoint(dir: string, slot: string, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      for (const k of Deno.readDirSync(`${dir}/store/checkpoints`)) {
        for (const s of Deno.readDirSync(`${dir}/store/checkpoints/${k.name}`)) {
          if (s.name.startsWith(`${slot}@`)) return true;
        }
      }
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
