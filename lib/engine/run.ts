/**
 * A pipeline run: lock the store, clear what dead runs left, plan, check the entries the run
 * will read (quarantining damaged ones so they are recomputed), execute, release.
 *
 * @module
 */
import { type HeldLock, type LockInfo, Store } from "./store/store.ts";
import type { Executor, StageOutcome } from "./executor.ts";
import type { Graph } from "./graph.ts";
import { makePlan, type Plan, type PlannedStage, type Selection, selectStages } from "./plan.ts";
import type { StageEvent } from "./stage.ts";

/** Options of {@link runPipeline}. */
export interface RunOptions {
  /**
   * Runs the selected stages. The store lock is held until it returns: for a detaching executor
   * (Slurm with `detach`), that is once the jobs are submitted; the jobs then compute without it
   * (each takes its key's lock), and a later run finds them through their job records.
   */
  executor: Executor;
  until?: string[];
  force?: string[];
  dryRun?: boolean;
  /** Wait for another run's lock instead of refusing. */
  wait?: boolean;
  onWait?: (holder: LockInfo) => void;
  onEvent?: (e: StageEvent) => void;
  onOutcome?: (o: StageOutcome) => void;
  /** Messages about the run itself (quarantined entries, cleaned debris). */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
  /** Recorded in the store lock. */
  command?: string;
}

/** What a run did. */
export interface RunSummary {
  plan: Plan;
  selection: Selection;
  outcomes: Map<string, StageOutcome>;
  seconds: number;
  /** True when nothing was executed because of `dryRun`. */
  dryRun: boolean;
}

/**
 * Run (or, with `dryRun`, only plan) a pipeline.
 *
 * @example
 * ```ts
 * const summary = await runPipeline(graph, { executor: new LocalExecutor({ jobs: 2, stageCommand }) });
 * ```
 */
export async function runPipeline(graph: Graph, opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const notice = opts.onNotice ?? (() => {});
  if (opts.dryRun) {
    const store = await Store.open(graph.spec.store, { create: false });
    const plan = await makePlan(graph, store);
    const selection = selectStages(plan, opts);
    return { plan, selection, outcomes: new Map(), seconds: (performance.now() - t0) / 1000, dryRun: true };
  }
  const store = await Store.open(graph.spec.store);
  const lock: HeldLock = await store.lock(opts.command ?? "pipeline run", {
    wait: opts.wait,
    onWait: opts.onWait,
  });
  try {
    for (const d of await store.cleanDebris()) notice(`removed ${d} left by a process that died`);
    const plan = await makePlan(graph, store);
    const selection = await checkReadEntries(plan, selectStages(plan, opts), opts, notice);
    await dropLeftoverCheckpoints(plan, selection, notice);
    for (const p of plan.stages.values()) {
      if (p.damaged && selection.run.includes(p.stage.id) && (await store.check(p.key)).state === "damaged") {
        await quarantine(store, p, p.damaged, notice);
      }
    }
    const outcomes = selection.run.length
      ? await opts.executor.execute({
        plan,
        selection,
        onEvent: opts.onEvent ?? (() => {}),
        signal: opts.signal ?? new AbortController().signal,
      })
      : new Map<string, StageOutcome>();
    for (const o of outcomes.values()) opts.onOutcome?.(o);
    return { plan, selection, outcomes, seconds: (performance.now() - t0) / 1000, dryRun: false };
  } finally {
    await lock.release();
  }
}

/**
 * Remove the checkpoints of stages that are cached and not rerun: a run killed while removing them
 * after publishing leaves them (perhaps half-removed), and nothing would ever read them.
 */
async function dropLeftoverCheckpoints(
  plan: Plan,
  selection: Selection,
  notice: (message: string) => void,
): Promise<void> {
  const running = new Set(selection.run);
  for (const p of plan.stages.values()) {
    if (p.status !== "cached" || running.has(p.stage.id)) continue;
    const dir = plan.store.checkpoints(p.key).dir;
    if (!(await Deno.lstat(dir).then(() => true, () => false))) continue;
    await plan.store.dropCheckpoints(p.key);
    notice(`removed checkpoints of ${p.stage.id} (${p.key}), which is in the store already`);
  }
}

/**
 * Hash in full the cached entries the selected stages will read; a damaged one is quarantined and
 * its stage (now stale) selected to be recomputed, until every entry to be read is intact.
 */
async function checkReadEntries(
  plan: Plan,
  selection: Selection,
  opts: RunOptions,
  notice: (message: string) => void,
): Promise<Selection> {
  const { graph, store } = plan;
  for (let changed = true; changed;) {
    changed = false;
    const running = new Set(selection.run);
    for (const id of selection.run) {
      for (const deps of Object.values(graph.stages.get(id)!.inputs)) {
        for (const d of deps) {
          const p = plan.stages.get(d)!;
          if (running.has(d) || p.status !== "cached") continue;
          const st = await store.check(p.key, true);
          if (st.state === "ok") continue;
          const reason = st.state === "damaged" ? st.reason : "entry vanished";
          if (st.state === "damaged") await quarantine(store, p, reason, notice);
          p.status = "stale";
          p.damaged = reason;
          p.reasons = [`store entry was damaged (${reason})`];
          changed = true;
        }
      }
    }
    if (changed) selection = selectStages(plan, opts);
  }
  return selection;
}

/** Move the damaged entry of `p` aside, and say so. */
async function quarantine(
  store: Store,
  p: PlannedStage,
  reason: string,
  notice: (m: string) => void,
): Promise<void> {
  const where = await store.quarantine(p.key);
  notice(`${p.stage.id}: store entry ${p.key} is damaged (${reason}); moved to ${where} and recomputing`);
}
