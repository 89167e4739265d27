/**
 * `pipeline run`: run every stage that is not cached, locally (processes) or on Slurm (jobs),
 * with a live progress view; print the plan (and, for Slurm, the batch scripts) on `--dry-run`,
 * and a summary (time per stage, failures with their log tails) at the end.
 *
 * @module
 */
import {
  type Executor,
  formatDuration,
  type Graph,
  LocalExecutor,
  ProgressView,
  runPipeline,
  type RunSummary,
  SlurmExecutor,
  SpecError,
  type StageCommand,
  type StageOutcome,
} from "../lib/engine/mod.ts";
import { checkIds, type CommonOpts, loadGraph, print } from "./_common.ts";

const PROJECT_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** The entry point a stage process runs (`cli.ts exec <id>`). */
const CLI_PATH = new URL("../cli.ts", import.meta.url).pathname;

/**
 * The options of `pipeline run`.
 *
 * @example
 * ```ts
 * const opts: RunOpts = { file: "pipeline.yaml", set: [], jobs: "4", until: ["em[0].fit"], force: [], executor: "local" };
 * ```
 */
export interface RunOpts extends CommonOpts {
  jobs: string;
  until: string[];
  force: string[];
  dryRun?: boolean;
  wait?: boolean;
  executor: string;
  detach?: boolean;
}

/**
 * `pipeline run`: returns the exit code (1 when a stage failed or the run was interrupted).
 *
 * @example
 * ```ts
 * const code = await cmdRun({ file: "pipeline.yaml", set: [], jobs: "2", until: [], force: [], executor: "local" });
 * ```
 */
export async function cmdRun(opts: RunOpts): Promise<number> {
  const graph = await loadGraph(opts);
  const { jobs, until, force } = checkRunOptions(graph, opts);
  const view = new ProgressView();
  const abort = new AbortController();
  const stopListening = listenForInterrupt(view, abort, opts.executor === "slurm");
  const stageCommand = stageCommandOf(graph, opts);
  const executor: Executor = opts.executor === "slurm"
    ? new SlurmExecutor({ stageCommand, workdir: graph.spec.dir, detach: opts.detach })
    : new LocalExecutor({ jobs, stageCommand });
  let summary: RunSummary;
  try {
    summary = await runPipeline(graph, {
      executor,
      until,
      force,
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
    stopListening();
  }
  if (summary.dryRun) {
    printDryRun(summary);
    if (executor instanceof SlurmExecutor) printScripts(executor, summary);
    return 0;
  }
  return printSummary(summary, abort.signal.aborted);
}

/**
 * Refuse stage ids the graph lacks and options that do not go together; returns `--jobs` and the
 * `--until` / `--force` ids resolved (`em[-1].fit` forms counted from the last lap).
 */
function checkRunOptions(graph: Graph, opts: RunOpts): { jobs: number; until: string[]; force: string[] } {
  const until = checkIds(graph, opts.until, "--until");
  const force = checkIds(graph, opts.force, "--force");
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
  return { jobs, until, force };
}

/** Signals this soon after the first interrupt are echoes of it (milliseconds). */
const ECHO_MS = 1000;

/**
 * The first Ctrl-C (or SIGTERM) stops the running stages (their checkpoints are kept), a second
 * exits at once; returns the function that stops listening.
 */
function listenForInterrupt(view: ProgressView, abort: AbortController, slurm: boolean): () => void {
  let interrupted = 0;
  let first = 0;
  const onSigint = () => {
    // `deno task` forwards the Ctrl-C that the terminal also sent to this process: a signal just
    // after the first is that echo, not a second Ctrl-C.
    if (interrupted === 1 && performance.now() - first < ECHO_MS) return;
    interrupted++;
    if (interrupted === 1) {
      view.line(
        slurm
          ? "interrupted: cancelling the Slurm jobs this run submitted (checkpoints are kept; rerun to resume)…"
          : "interrupted: stopping running stages (their checkpoints are kept; rerun to resume)…",
      );
      abort.abort();
      // The echo window opens once this interrupt is handled: aborting signals every stage process,
      // which on a loaded machine can hold the event loop, and the echo waits behind it.
      first = performance.now();
    } else {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSigint);
  Deno.addSignalListener("SIGTERM", onSigint);
  return () => {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigint);
  };
}

/** The command that runs a stage: `cli.ts exec`, with this run's spec and overrides forwarded. */
function stageCommandOf(graph: Graph, opts: RunOpts): StageCommand {
  const forwarded = [...opts.set, ...(opts.backend ? [`backend=${opts.backend}`] : [])];
  // The same command runs a stage locally and in a Slurm job (there: one shard of a job array).
  return (id, { force, shard }) => ({
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

/** The batch scripts a Slurm run would submit (after the plan, on `--dry-run --executor slurm`). */
function printScripts(executor: SlurmExecutor, s: RunSummary): void {
  for (const script of executor.scripts(s.plan, s.selection)) {
    print(`\n# ---- ${script.stage}${script.kind === "shards" ? " (shards: job array)" : ""}`);
    print(script.text.trimEnd());
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
