/**
 * `deno task pipeline [COMMAND]`: run, inspect and maintain a pipeline declared in YAML.
 *
 * Exit codes: 0 success, 1 a stage (or the run) failed, 2 the spec or the command line is invalid.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { builtinTasks } from "./tasks/mod.ts";
import {
  EVENT_MARK,
  type Executor,
  LocalExecutor,
  type StageCommand,
  type StageOutcome,
} from "./lib/engine/executor.ts";
import { buildGraph, type Graph, type TaskRegistry } from "./lib/engine/graph.ts";
import { makePlan, type Plan } from "./lib/engine/plan.ts";
import { formatDuration, ProgressView } from "./lib/engine/progress.ts";
import { runPipeline, type RunSummary } from "./lib/engine/run.ts";
import { loadSpec, parseOverrides, type Spec, SpecError, suggest } from "./lib/engine/spec.ts";
import { type QueuedStage, queuedStages, SlurmExecutor } from "./lib/engine/slurm/executor.ts";
import { runStage, type StageEvent } from "./lib/engine/stage.ts";
import type { TaskDef } from "./lib/engine/task.ts";
import { Store, StoreLockedError } from "./lib/engine/store/store.ts";

const PROJECT_ROOT = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const CLI_PATH = new URL(import.meta.url).pathname;

interface CommonOpts {
  file: string;
  set: string[];
  backend?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function common(cmd: Command): Command {
  return cmd
    .option("-f, --file <path>", "pipeline spec", "pipeline.yaml")
    .option("--set <key=value>", "override a spec value, e.g. em.laps=16 (repeatable)", collect, [])
    .addOption(
      new Option("--backend <name>", "numerical backend (same as --set backend=NAME)").choices([
        "auto",
        "webgpu",
        "wasm",
        "cpu",
      ]),
    );
}

async function loadTasks(spec: Spec): Promise<TaskRegistry> {
  const registry = new Map<string, TaskDef>();
  for (const t of builtinTasks) registry.set(t.name, t as TaskDef);
  for (const plugin of spec.plugins) {
    let mod: { tasks?: TaskDef[] };
    try {
      mod = await import(`file://${plugin}`);
    } catch (e) {
      throw new SpecError([{
        where: spec.locate(["plugins"]),
        message: `cannot load plugin ${plugin}: ${(e as Error).message.split("\n")[0]}`,
      }]);
    }
    if (!Array.isArray(mod.tasks)) {
      throw new SpecError([{
        where: spec.locate(["plugins"]),
        message: `plugin ${plugin} must export \`tasks: TaskDef[]\``,
      }]);
    }
    for (const t of mod.tasks) registry.set(t.name, t);
  }
  return registry;
}

/**
 * A path given on the command line, made absolute against the user's directory: `deno task`
 * runs in the project root, and says where the user was in INIT_CWD.
 */
function userPath(path: string): string {
  if (path.startsWith("/")) return path;
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  return `${cwd}/${path}`.replace(/\/\.\//g, "/");
}

async function loadGraph(opts: CommonOpts): Promise<Graph> {
  const sets = [...opts.set];
  if (opts.backend) sets.push(`backend=${opts.backend}`);
  const spec = await loadSpec(userPath(opts.file), parseOverrides(sets));
  return buildGraph(spec, await loadTasks(spec));
}

function checkIds(graph: Graph, ids: string[] | undefined, flag: string): void {
  for (const id of ids ?? []) {
    if (!graph.stages.has(id)) {
      throw new SpecError([{
        where: `${flag} ${id}`,
        message: `no stage "${id}" ${suggest(id, graph.order)}`,
      }]);
    }
  }
}

const print = (s = "") => console.log(s);

// ------------------------------------------------------------------------------------------ run

async function cmdRun(
  opts: CommonOpts & {
    jobs: string;
    until: string[];
    force: string[];
    dryRun?: boolean;
    wait?: boolean;
    executor: string;
    detach?: boolean;
  },
): Promise<number> {
  const graph = await loadGraph(opts);
  checkIds(graph, opts.until, "--until");
  checkIds(graph, opts.force, "--force");
  const jobs = Number(opts.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    throw new SpecError([{ where: `--jobs ${opts.jobs}`, message: "jobs must be a positive integer" }]);
  }
  if (opts.detach && opts.executor !== "slurm") {
    throw new SpecError([{
      where: "--detach",
      message: "only a cluster executor can leave stages running: add --executor slurm",
    }]);
  }
  const view = new ProgressView();
  const abort = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted === 1) {
      view.line(
        opts.executor === "slurm"
          ? "interrupted: cancelling the Slurm jobs this run submitted (checkpoints are kept; rerun to resume)…"
          : "interrupted: stopping running stages (their checkpoints are kept; rerun to resume)…",
      );
      abort.abort();
    } else {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigint);
  const forwarded = [...opts.set, ...(opts.backend ? [`backend=${opts.backend}`] : [])];
  // The same command runs a stage locally and in a Slurm job (there: one shard of a job array).
  const stageCommand: StageCommand = (id, { force, shard }) => ({
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      `--config=${PROJECT_ROOT}/deno.json`,
      "--v8-flags=--max-old-space-size=8192",
      CLI_PATH,
      "exec",
      id,
      "-f",
      graph.spec.file,
      ...forwarded.flatMap((s) => ["--set", s]),
      ...(force ? ["--force"] : []),
      ...(shard !== undefined ? ["--shard", shard] : []),
      "--events",
    ],
  });
  const executor: Executor = opts.executor === "slurm"
    ? new SlurmExecutor({ stageCommand, workdir: graph.spec.dir, detach: opts.detach })
    : new LocalExecutor({ jobs, stageCommand });
  let summary: RunSummary;
  try {
    summary = await runPipeline(graph, {
      executor,
      until: opts.until,
      force: opts.force,
      dryRun: opts.dryRun,
      wait: opts.wait,
      onWait: (h) =>
        view.line(`waiting for the store lock held by pid ${h.pid} on ${h.host} (${h.command})…`),
      onEvent: (e) => view.onEvent(e),
      onOutcome: (o) => view.onOutcome(o),
      onNotice: (m) => view.line(m),
      signal: abort.signal,
      command: `pipeline run -f ${opts.file}`,
    });
  } finally {
    view.close();
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigint);
  }
  if (summary.dryRun) {
    printDryRun(summary);
    if (executor instanceof SlurmExecutor) {
      for (const s of executor.scripts(summary.plan, summary.selection)) {
        print(`\n# ---- ${s.stage}${s.kind === "shards" ? " (shards: job array)" : ""}`);
        print(s.text.trimEnd());
      }
    }
    return 0;
  }
  return printSummary(summary, abort.signal.aborted);
}

function printDryRun(s: RunSummary): void {
  const run = new Set(s.selection.run);
  print(
    `dry run: ${s.selection.run.length} of ${s.plan.stages.size} stages would run (store ${s.plan.graph.spec.store})`,
  );
  for (const id of s.plan.graph.order) {
    const p = s.plan.stages.get(id)!;
    const what = run.has(id)
      ? (s.selection.forced.has(id) ? "run (forced)" : "run")
      : p.status === "cached"
      ? "cached"
      : "skip (--until)";
    print(
      `  ${what.padEnd(14)} ${id.padEnd(22)} ${p.stage.task.name.padEnd(18)} ${p.key.slice(0, 12)}  ${
        p.reasons.join("; ")
      }`,
    );
  }
}

function printSummary(s: RunSummary, interrupted: boolean): number {
  const outcomes = [...s.outcomes.values()];
  const count = (state: StageOutcome["state"]) => outcomes.filter((o) => o.state === state).length;
  const running = new Set(s.selection.run);
  const notRun = [...s.plan.stages.values()].filter((p) => !running.has(p.stage.id));
  // Outside the selection: cached, or left out by --until.
  const cached = notRun.filter((p) => p.status === "cached").length + count("cached");
  const leftOut = notRun.length - notRun.filter((p) => p.status === "cached").length;
  const failed = outcomes.filter((o) => o.state === "failed");
  const ran = outcomes.filter((o) => o.state === "ran");
  if (ran.length) {
    print("time per stage:");
    for (const o of ran) print(`  ${o.id.padEnd(24)} ${formatDuration(o.seconds)}`);
  }
  for (const f of failed) {
    console.error(`\nstage ${f.id} failed: ${f.error}`);
    if (f.logTail?.length) console.error(f.logTail.map((l) => `  | ${l}`).join("\n"));
  }
  const skipped = count("skipped"), cancelled = count("cancelled");
  const submitted = outcomes.filter((o) => o.state === "submitted");
  if (submitted.length) {
    print(`on slurm (${submitted.length} stages; their entries appear in the store as the jobs finish):`);
    for (const o of submitted) print(`  ${o.id.padEnd(24)} job ${o.job}`);
    print(
      "follow with `pipeline status`; `pipeline run --executor slurm` waits for them (and submits nothing twice)",
    );
  }
  print(
    `${
      interrupted ? "interrupted" : failed.length ? "failed" : submitted.length ? "submitted" : "done"
    }: ${ran.length} ran, ${cached} cached, ${failed.length} failed` +
      `${skipped ? `, ${skipped} skipped (upstream failed)` : ""}${
        cancelled ? `, ${cancelled} cancelled` : ""
      }${submitted.length ? `, ${submitted.length} on slurm` : ""}${
        leftOut ? `, ${leftOut} not run (--until)` : ""
      } in ${formatDuration(s.seconds)}`,
  );
  return failed.length || interrupted ? 1 : 0;
}

// ------------------------------------------------------------------------------------------ exec

async function cmdExec(
  id: string,
  opts: CommonOpts & { force?: boolean; events?: boolean; shard?: string },
): Promise<number> {
  if (opts.events) watchParent();
  const graph = await loadGraph(opts);
  checkIds(graph, [id], "exec");
  const store = await Store.open(graph.spec.store);
  const plan = await makePlan(graph, store);
  const enc = new TextEncoder();
  const emit = opts.events
    ? (e: StageEvent) => Deno.stdout.writeSync(enc.encode(EVENT_MARK + JSON.stringify(e) + "\n"))
    : (e: StageEvent) => {
      if (e.type === "log") console.log(`${e.id}: ${e.message}`);
      else if (e.type === "progress") {
        console.log(`${e.id}: ${e.done}/${e.total} ${e.unit}${e.info ? ` ${e.info}` : ""}`);
      } else if (e.type === "done") {
        console.log(
          `${e.id}: ${e.cached ? "already in the store" : `done in ${formatDuration(e.seconds)}`} (${e.key})`,
        );
      }
    };
  try {
    await runStage(plan, id, {
      emit,
      force: opts.force,
      shard: opts.shard === undefined ? undefined : Number(opts.shard),
      backend: graph.spec.backend,
      exitOnSignal: true,
      command: `pipeline exec ${id}`,
    });
    return 0;
  } catch (e) {
    const err = e as Error;
    emit({ type: "failed", id, error: err.message });
    console.error(err.stack ?? err.message);
    return 1;
  }
}

/** Parent pid from /proc (Linux); null elsewhere. */
function parentPid(): number | null {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/**
 * A stage launched by a local run stops when that run dies (even by SIGKILL), as it would with the
 * machine: its checkpoints stay, its partial entry is cleaned by the next run.
 */
function watchParent(): void {
  const parent = parentPid();
  if (parent === null) return;
  const timer = setInterval(() => {
    if (parentPid() !== parent) Deno.exit(137);
  }, 500);
  Deno.unrefTimer(timer);
}

// ------------------------------------------------------------------------------------------ status / show / dag / metrics

async function openPlan(opts: CommonOpts): Promise<Plan> {
  const graph = await loadGraph(opts);
  return makePlan(graph, await Store.open(graph.spec.store, { create: false }));
}

async function cmdStatus(opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  // Stages a (detached) Slurm run left in the queue: asked of Slurm only when there are any.
  const uncached = [...plan.stages.values()].filter((p) => p.status !== "cached").map((p) => p.key);
  const queued = await queuedStages(plan.store.root, uncached);
  const onSlurm = (q: QueuedStage | undefined) =>
    !q
      ? null
      : q.state === "unknown"
      ? `submitted to slurm as job ${q.record.job} (state unknown: ${q.error})`
      : q.state === "ended"
      ? `slurm job ${q.record.job} ended without publishing (log ${plan.store.root}/logs/${q.record.key}.${q.record.job}.err)`
      : `${q.state} on slurm (job ${q.record.job}${
        q.record.arrayJob ? `, shards: job array ${q.record.arrayJob}` : ""
      })`;
  const rows = plan.graph.order.map((id) => {
    const p = plan.stages.get(id)!;
    const q = queued.get(p.key);
    const slurm = onSlurm(q);
    return {
      id,
      task: p.stage.task.name,
      status: p.status,
      key: p.key,
      reasons: slurm ? [slurm, ...p.reasons] : p.reasons,
      checkpoints: p.checkpoints,
      ...(q ? { slurm: { job: q.record.job, arrayJob: q.record.arrayJob ?? null, state: q.state } } : {}),
    };
  });
  if (opts.json) {
    print(
      JSON.stringify({ spec: plan.graph.spec.file, store: plan.graph.spec.store, stages: rows }, null, 1),
    );
    return 0;
  }
  const w = Math.max(8, ...rows.map((r) => r.id.length)) + 2;
  print(`${"stage".padEnd(w)}${"task".padEnd(18)}${"status".padEnd(9)}${"key".padEnd(14)}why`);
  for (const r of rows) {
    const shown = r.slurm && (r.slurm.state === "queued" || r.slurm.state === "running")
      ? r.slurm.state
      : r.status;
    print(
      `${r.id.padEnd(w)}${r.task.padEnd(18)}${shown.padEnd(9)}${r.key.slice(0, 12).padEnd(14)}${
        r.reasons.join("; ")
      }`,
    );
  }
  const n = (s: string) => rows.filter((r) => r.status === s).length;
  const live = rows.filter((r) => r.slurm?.state === "queued" || r.slurm?.state === "running").length;
  print(
    `\n${n("cached")} cached, ${n("stale")} stale, ${n("missing")} missing${
      live ? ` (${live} of them queued or running on slurm)` : ""
    } (store ${plan.graph.spec.store})`,
  );
  return 0;
}

async function cmdShow(id: string, opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  checkIds(plan.graph, [id], "show");
  const p = plan.stages.get(id)!;
  const st = await plan.store.check(p.key);
  const m = st.state === "ok" ? st.manifest : null;
  const info = {
    id,
    task: p.stage.task.name,
    version: p.stage.task.version,
    description: p.stage.task.description,
    status: p.status,
    reasons: p.reasons,
    key: p.key,
    seed: p.stage.seed,
    params: p.stage.params,
    inputs: Object.fromEntries(
      Object.entries(p.stage.inputs).map((
        [k, ids],
      ) => [k, ids.map((d) => ({ stage: d, key: plan.stages.get(d)!.key }))]),
    ),
    entry: m ? plan.store.entryDir(p.key) : null,
    outputs: m ? { arrays: m.arrays, json: m.json, files: m.files } : null,
    metrics: m?.metrics ?? null,
    meta: m?.meta ?? null,
    resources: p.stage.resources,
    checkpoints: p.checkpoints,
  };
  if (opts.json) {
    print(JSON.stringify(info, null, 1));
    return 0;
  }
  print(`${id}  (task ${info.task} v${info.version}: ${info.description})`);
  print(`  status   ${info.status}${info.reasons.length ? ` — ${info.reasons.join("; ")}` : ""}`);
  print(`  key      ${info.key}`);
  print(`  seed     ${info.seed}`);
  print(`  params   ${JSON.stringify(info.params)}`);
  for (const [k, v] of Object.entries(info.inputs)) {
    print(`  input    ${k} ← ${v.map((x) => `${x.stage} (${x.key.slice(0, 12)})`).join(", ")}`);
  }
  if (m) {
    print(`  entry    ${info.entry}`);
    for (const [k, a] of Object.entries(m.arrays)) {
      print(`  array    ${k} ${a.dtype}[${a.shape.join(", ")}] chunks [${a.chunks.join(", ")}]`);
    }
    for (const k of m.json) print(`  json     ${k}`);
    for (const k of m.files) print(`  file     ${k}`);
    for (const [k, v] of Object.entries(m.metrics)) {
      print(`  metric   ${k} = ${typeof v === "number" ? Number(v.toPrecision(6)) : JSON.stringify(v)}`);
    }
    const meta = m.meta as Record<string, unknown>;
    print(
      `  ran      ${meta.started} → ${meta.finished} (${
        formatDuration(Number(meta.seconds))
      }) on ${meta.host}`,
    );
    const rest = Object.entries(meta).filter(([k]) =>
      !["started", "finished", "seconds", "host", "pid"].includes(k)
    );
    for (const [k, v] of rest) print(`  meta     ${k} = ${JSON.stringify(v)}`);
  }
  return 0;
}

async function cmdDag(opts: CommonOpts & { format: string }): Promise<number> {
  const graph = await loadGraph(opts);
  const edges: [string, string, string][] = [];
  for (const id of graph.order) {
    for (const [name, deps] of Object.entries(graph.stages.get(id)!.inputs)) {
      for (const d of deps) edges.push([d, id, name]);
    }
  }
  if (opts.format === "mermaid") {
    const n = new Map(graph.order.map((id, i) => [id, `s${i}`]));
    print("graph TD");
    for (const id of graph.order) {
      print(`  ${n.get(id)}["${id}<br/><small>${graph.stages.get(id)!.task.name}</small>"]`);
    }
    for (const [a, b, name] of edges) print(`  ${n.get(a)} -->|${name}| ${n.get(b)}`);
  } else if (opts.format === "dot") {
    print("digraph pipeline {\n  rankdir=TB;\n  node [shape=box];");
    for (const id of graph.order) print(`  "${id}" [label="${id}\\n${graph.stages.get(id)!.task.name}"];`);
    for (const [a, b, name] of edges) print(`  "${a}" -> "${b}" [label="${name}"];`);
    print("}");
  } else {
    for (const id of graph.order) {
      const s = graph.stages.get(id)!;
      const ins = Object.entries(s.inputs).map(([k, ids]) =>
        `${k}=${ids.length > 3 ? `${ids[0]}…${ids.at(-1)} (${ids.length})` : ids.join(",")}`
      );
      print(`${id} (${s.task.name})${ins.length ? ` ← ${ins.join(" ")}` : ""}`);
    }
  }
  return 0;
}

async function cmdMetrics(opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  const byStage: Record<string, Record<string, unknown>> = {};
  for (const id of plan.graph.order) {
    const p = plan.stages.get(id)!;
    if (p.status !== "cached") continue;
    const m = await plan.store.manifest(p.key);
    if (Object.keys(m.metrics).length) byStage[id] = m.metrics;
  }
  if (opts.json) {
    print(JSON.stringify(byStage, null, 1));
    return 0;
  }
  const fmt = (
    v: unknown,
  ) => (typeof v === "number" ? String(Number(v.toPrecision(5))) : JSON.stringify(v) ?? "");
  // Loop stages: one table per (loop, body stage), laps as rows.
  const tables = new Map<string, { lap: number; metrics: Record<string, unknown> }[]>();
  for (const [id, metrics] of Object.entries(byStage)) {
    const s = plan.graph.stages.get(id)!;
    if (s.loop === null) {
      print(`${id}: ${Object.entries(metrics).map(([k, v]) => `${k}=${fmt(v)}`).join("  ")}`);
      continue;
    }
    const t = `${s.loop}[*].${id.slice(id.indexOf("].") + 2)}`;
    if (!tables.has(t)) tables.set(t, []);
    tables.get(t)!.push({ lap: s.lap!, metrics });
  }
  for (const [t, rows] of tables) {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((c) =>
      rows.some((r) => typeof r.metrics[c] === "number")
    );
    print(`\n${t}`);
    print(["lap".padEnd(5), ...cols.map((c) => c.padStart(Math.max(10, c.length)))].join(" "));
    for (const r of rows.sort((a, b) => a.lap - b.lap)) {
      print(
        [String(r.lap).padEnd(5), ...cols.map((c) => fmt(r.metrics[c]).padStart(Math.max(10, c.length)))]
          .join(" "),
      );
    }
  }
  if (!Object.keys(byStage).length) print("no metrics yet (run the pipeline first)");
  return 0;
}

// ------------------------------------------------------------------------------------------ gc / verify / tasks

async function cmdGc(
  opts: { file: string[]; set: string[]; dryRun?: boolean; wait?: boolean },
): Promise<number> {
  const files = opts.file.length ? opts.file : ["pipeline.yaml"];
  const keep = new Set<string>(), keepIds = new Set<string>();
  let storeRoot: string | null = null;
  for (const f of files) {
    const graph = await loadGraph({ file: f, set: opts.set });
    if (storeRoot && storeRoot !== graph.spec.store) {
      throw new SpecError([{
        where: f,
        message: `uses store ${graph.spec.store}, but ${files[0]} uses ${storeRoot}: gc one store at a time`,
      }]);
    }
    storeRoot = graph.spec.store;
    const plan = await makePlan(graph, await Store.open(graph.spec.store, { create: false }));
    for (const p of plan.stages.values()) {
      keep.add(p.key);
      keepIds.add(p.stage.id);
    }
  }
  const store = await Store.open(storeRoot!);
  const lock = opts.dryRun ? null : await store.lock("pipeline gc", { wait: opts.wait });
  try {
    const { removed, bytes } = await store.gc(keep, keepIds, opts.dryRun);
    for (const r of removed) print(`${opts.dryRun ? "would remove" : "removed"} ${r}`);
    print(
      `${opts.dryRun ? "would free" : "freed"} ${
        (bytes / 1e6).toFixed(1)
      } MB; kept ${keep.size} entries referred to by ${files.join(", ")}`,
    );
  } finally {
    await lock?.release();
  }
  return 0;
}

async function cmdVerify(opts: CommonOpts): Promise<number> {
  const plan = await openPlan(opts);
  let bad = 0, ok = 0;
  for (const id of plan.graph.order) {
    const p = plan.stages.get(id)!;
    const st = await plan.store.check(p.key, true);
    if (st.state === "ok") ok++;
    if (st.state === "damaged") {
      bad++;
      print(`${id}: DAMAGED (${st.reason}) ${plan.store.entryDir(p.key)}`);
    }
  }
  print(
    `${ok} entries intact, ${bad} damaged${bad ? " (the next run quarantines and recomputes them)" : ""}`,
  );
  return bad ? 1 : 0;
}

function cmdTasks(opts: { json?: boolean }): number {
  const list = builtinTasks.map((t) => ({
    name: t.name,
    version: t.version,
    description: t.description,
    inputs: t.inputs,
    params: (t.params as unknown as { toJSONSchema?: () => unknown }).toJSONSchema?.() ?? null,
  }));
  if (opts.json) print(JSON.stringify(list, null, 1));
  else for (const t of list) print(`${t.name.padEnd(18)} v${t.version}  ${t.description}`);
  return 0;
}

// ------------------------------------------------------------------------------------------ main

/** Parse `args` and run the command; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const program = new Command("pipeline")
    .description("Learn diffusion priors from corrupted observations: a cached, resumable pipeline of stages")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  const act = <T extends unknown[]>(fn: (...a: T) => Promise<number> | number) => async (...a: T) => {
    code = await fn(...a);
  };
  common(
    program.command("run", { isDefault: true }).description(
      "run every stage that is not cached (the default)",
    ),
  )
    .option(
      "-j, --jobs <n>",
      "stages to run at once (default: one per core)",
      String(navigator.hardwareConcurrency ?? 1),
    )
    .option("--until <id>", "run only this stage and what it needs (repeatable)", collect, [])
    .option("--force <id>", "rerun this stage and its descendants although cached (repeatable)", collect, [])
    .option("-n, --dry-run", "print the plan: what would run, what is cached, and why")
    .option("--wait", "wait for another run holding the store instead of refusing")
    .addOption(
      new Option("--executor <name>", "where stages run: local processes, or Slurm jobs").choices([
        "local",
        "slurm",
      ]).default("local"),
    )
    .option("--detach", "with --executor slurm: submit the jobs and return (status/run pick them up later)")
    .action(act(cmdRun));
  common(program.command("status").description("every stage: cached | stale | missing, and why"))
    .option("--json", "machine-readable output").action(act(cmdStatus));
  common(program.command("dag").description("print the stage graph"))
    .addOption(
      new Option("--format <fmt>", "output format").choices(["text", "mermaid", "dot"]).default("text"),
    )
    .action(act(cmdDag));
  common(
    program.command("show").argument("<id>", "stage id, e.g. em[3].fit").description(
      "params, key, inputs, outputs, metrics, timings of a stage",
    ),
  )
    .option("--json", "machine-readable output").action(act(cmdShow));
  common(program.command("metrics").description("every metric of every stage, by EM lap"))
    .option("--json", "machine-readable output").action(act(cmdMetrics));
  program.command("gc").description("remove store entries that no given spec refers to")
    .option(
      "-f, --file <path>",
      "spec whose entries to keep (repeatable; default pipeline.yaml)",
      collect,
      [],
    )
    .option("--set <key=value>", "override a spec value (repeatable)", collect, [])
    .option("-n, --dry-run", "list what would be removed")
    .option("--wait", "wait for a run holding the store")
    .action(act(cmdGc));
  common(program.command("verify").description("hash every entry of the spec and report damage")).action(
    act(cmdVerify),
  );
  common(
    program.command("exec").argument("<id>", "stage id").description(
      "run one stage in this process (inputs must be in the store)",
    ),
  )
    .option("--force", "recompute even if cached")
    .option("--events", "write machine-readable progress events to stdout")
    .option("--shard <i>", "compute only shard i of a sharded stage (a cluster job array element)")
    .action(act(cmdExec));
  program.command("tasks").description("list the available tasks").option("--json", "with parameter schemas")
    .action(act(cmdTasks));
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof SpecError) {
      console.error(`invalid pipeline:\n${e.issues.map((i) => `  ${i.where}: ${i.message}`).join("\n")}`);
      return 2;
    }
    if (e instanceof StoreLockedError) {
      console.error(e.message);
      return 1;
    }
    console.error((e as Error).stack ?? String(e));
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
