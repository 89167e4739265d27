/**
 * `pipeline exec <id>`: run one stage in this process, its inputs already in the store. This is
 * what a run launches per stage (locally, or in a Slurm job: then maybe one shard of the stage),
 * with `--events` so that the run follows its progress.
 *
 * @module
 */
import { EVENT_MARK, formatDuration, makePlan, runStage, type StageEvent, Store } from "../lib/engine/mod.ts";
import { checkIds, type CommonOpts, loadGraph, userMessage } from "./_common.ts";

/**
 * The options of `pipeline exec`.
 *
 * @example
 * ```ts
 * const opts: ExecOpts = { file: "pipeline.yaml", set: [], events: true, shard: "2" };
 * ```
 */
export interface ExecOpts extends CommonOpts {
  force?: boolean;
  events?: boolean;
  shard?: string;
}

/**
 * `pipeline exec <id>`: returns the exit code (1 when the stage failed).
 *
 * @example
 * ```ts
 * const code = await cmdExec("em[0].fit", { file: "pipeline.yaml", set: [] });
 * ```
 */
export async function cmdExec(id: string, opts: ExecOpts): Promise<number> {
  if (opts.events) watchParent();
  const graph = await loadGraph(opts);
  [id] = checkIds(graph, [id], "exec");
  const store = await Store.open(graph.spec.store);
  const plan = await makePlan(graph, store);
  const emit = opts.events ? emitEvent : printEvent;
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
    console.error(userMessage(e) ?? err.stack ?? err.message);
    return 1;
  }
}

const encoder = new TextEncoder();

/** An event for the run that launched this stage: one marked JSON line on stdout. */
function emitEvent(e: StageEvent): void {
  Deno.stdout.writeSync(encoder.encode(EVENT_MARK + JSON.stringify(e) + "\n"));
}

/** An event for a person: log lines, progress and the end of the stage, as text. */
function printEvent(e: StageEvent): void {
  if (e.type === "log") console.log(`${e.id}: ${e.message}`);
  else if (e.type === "progress") {
    console.log(`${e.id}: ${e.done}/${e.total} ${e.unit}${e.info ? ` ${e.info}` : ""}`);
  } else if (e.type === "done") {
    console.log(
      `${e.id}: ${e.cached ? "already in the store" : `done in ${formatDuration(e.seconds)}`} (${e.key})`,
    );
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
