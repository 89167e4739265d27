/**
 * Run one stage in this process: check its inputs, lock its key, call the task with a
 * {@link StageContext} that writes into a temporary entry, then publish atomically.
 *
 * This is what `pipeline exec ID` does, whichever executor launched it (local subprocess, Slurm job).
 *
 * @module
 */
import type { EntryReader, EntryWriter, HeldLock, Manifest, ManifestBase, Store } from "./store/store.ts";
import type { Plan, PlannedStage } from "./plan.ts";
import type { Stage } from "./graph.ts";
import { stageContext } from "./_stage_context.ts";
import type { StageEvent } from "./_stage_event.ts";

export type { StageEvent } from "./_stage_event.ts";
export { StageMismatchError } from "./_stage_mismatch.ts";

/**
 * A stage that cannot start: its inputs are not (intact) in the store.
 *
 * @example
 * ```ts
 * try {
 *   await runStage(plan, "obs", opts);
 * } catch (e) {
 *   if (e instanceof MissingInputError) console.error(e.message); // stage obs needs the outputs of data …
 * }
 * ```
 */
export class MissingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingInputError";
  }
}

/** Options of {@link runStage}. */
export interface RunStageOptions {
  emit: (e: StageEvent) => void;
  signal?: AbortSignal;
  /** Recompute and replace an entry that exists. */
  force?: boolean;
  /** Numerical backend asked for (`auto`, `wasm`, …). */
  backend: string;
  /** Description of the process, recorded in the key lock. */
  command?: string;
  /** Compute only this shard of a sharded task (its result stays in a checkpoint slot). */
  shard?: number;
  /** On SIGINT/SIGTERM, drop the partial entry and exit the process (what `pipeline exec` wants). */
  exitOnSignal?: boolean;
}

/**
 * Run stage `id` of `plan` and publish its outputs (returns the manifest; null after computing a
 * single shard, which publishes nothing).
 *
 * @example
 * ```ts
 * await runStage(plan, "obs", { backend: "wasm", emit: (e) => console.log(e) });
 * ```
 */
export async function runStage(plan: Plan, id: string, opts: RunStageOptions): Promise<Manifest | null> {
  const p = plan.stages.get(id);
  if (!p) throw new Error(`no stage "${id}" in the plan`);
  const { store } = plan;
  const { stage, key } = p;
  const emit = opts.emit;
  const sharded = opts.shard !== undefined;
  if (sharded) checkShard(stage, opts.shard!);
  const readers = await openInputs(plan, stage);

  // One process per key at a time; the shards of a job array each lock their own shard, so that
  // they run side by side (each writes only its own checkpoint slot).
  const lockName = opts.shard === undefined ? key : `${key}.shard-${opts.shard}`;
  const lock = await store.lockKey(lockName, opts.command ?? `exec ${id}`, { wait: true });
  let writer: EntryWriter | null = null;
  const stopListening = opts.exitOnSignal ? exitOnSignal(() => writer, lock) : () => {};
  try {
    const existing = await store.check(key);
    if (existing.state === "ok" && !opts.force) {
      emit({ type: "done", id, key, seconds: 0, cached: true, metrics: existing.manifest.metrics });
      return existing.manifest;
    }
    // A damaged entry is set aside by whoever publishes the key (a shard holds only its own lock).
    if (existing.state === "damaged" && !sharded) await store.quarantine(key);
    const checkpoints = store.checkpoints(key, { discard: (message) => emit({ type: "log", id, message }) });
    emit({ type: "start", id, key, resumed: await checkpoints.list() });
    // A shard leaves its result in a checkpoint slot and publishes nothing: it gets no entry to write.
    writer = sharded ? null : await store.begin(key);
    const out = (): EntryWriter => {
      if (!writer) {
        throw new Error(`stage ${id}: shard ${opts.shard} computes a checkpoint slot; it writes no outputs`);
      }
      return writer;
    };
    const metrics: Record<string, unknown> = {};
    const meta: Record<string, unknown> = {};
    const started = new Date();
    await stage.task.run(stageContext({
      plan,
      planned: p,
      readers,
      checkpoints,
      out,
      metrics,
      meta,
      shard: opts.shard ?? null,
      backend: opts.backend,
      signal: opts.signal ?? new AbortController().signal,
      emit,
    }));
    if (sharded) {
      emit({
        type: "done",
        id,
        key,
        seconds: (Date.now() - started.getTime()) / 1000,
        cached: false,
        metrics: {},
      });
      return null;
    }
    const finished = new Date();
    const seconds = (finished.getTime() - started.getTime()) / 1000;
    const manifest = await out().publish(
      manifestBase(p, metrics, { ...meta, ...runMeta(started, finished, seconds) }),
      opts.force,
    );
    writer = null;
    await recordPublished(store, p, finished);
    emit({ type: "done", id, key, seconds, cached: false, metrics });
    return manifest;
  } catch (e) {
    if (writer) await (writer as EntryWriter).abort();
    throw e;
  } finally {
    stopListening();
    await lock.release();
  }
}

/** `shard` must be one of the stage's shards (its task must be sharded). */
function checkShard(stage: Stage, shard: number): void {
  const count = stage.task.shards?.(stage.params);
  if (count === undefined) throw new Error(`stage ${stage.id} (task ${stage.task.name}) is not sharded`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= count) {
    throw new Error(`stage ${stage.id} has shards 0..${count - 1}; got --shard ${shard}`);
  }
}

/**
 * Readers of the entries of every input of `stage`, each published and intact (full checksums)
 * before any work starts; throws {@link MissingInputError} naming the first that is not.
 */
async function openInputs(plan: Plan, stage: Stage): Promise<Map<string, EntryReader>> {
  const readers = new Map<string, EntryReader>();
  for (const ids of Object.values(stage.inputs)) {
    for (const dep of ids) {
      const dk = plan.stages.get(dep)!.key;
      const st = await plan.store.check(dk, true);
      if (st.state !== "ok") {
        throw new MissingInputError(
          `stage ${stage.id} needs the outputs of ${dep} (key ${dk}), which ${
            st.state === "missing"
              ? "are not in the store: run that stage first"
              : `are damaged (${st.reason}): rerun the pipeline to recompute them`
          }`,
        );
      }
      readers.set(dep, plan.store.reader(dk, st.manifest));
    }
  }
  return readers;
}

/**
 * On SIGINT or SIGTERM, abort the entry being written (the published store is never touched),
 * release the key lock and exit with 130. Returns what stops listening.
 */
function exitOnSignal(writer: () => EntryWriter | null, lock: HeldLock): () => void {
  const onSignal = () => {
    const w = writer();
    (w ? w.abort() : Promise.resolve()).finally(() => lock.release()).finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  return () => {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  };
}

/** What the writer of stage `p`'s entry says in its manifest. */
function manifestBase(
  p: PlannedStage,
  metrics: Record<string, unknown>,
  meta: Record<string, unknown>,
): ManifestBase {
  const { stage } = p;
  return {
    task: stage.task.name,
    version: stage.task.version,
    stage: stage.id,
    params: stage.params,
    seed: stage.seed,
    inputs: p.inputKeys,
    metrics,
    meta,
  };
}

/** What the manifest's `meta` records of the run itself, after what the task recorded. */
function runMeta(started: Date, finished: Date, seconds: number): Record<string, unknown> {
  return {
    started: started.toISOString(),
    finished: finished.toISOString(),
    seconds,
    host: Deno.hostname(),
    pid: Deno.pid,
  };
}

/** After publishing: drop the stage's checkpoints and record what its id now refers to. */
async function recordPublished(store: Store, p: PlannedStage, finished: Date): Promise<void> {
  const { stage, key } = p;
  await store.dropCheckpoints(key);
  await store.writeRef(stage.id, {
    key,
    task: stage.task.name,
    version: stage.task.version,
    params: stage.params,
    seed: stage.seed,
    inputs: p.inputKeys,
    at: finished.toISOString(),
  });
}
