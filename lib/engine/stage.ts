/**
 * Run one stage in this process: check its inputs, lock its key, call the task with a
 * {@link StageContext} that writes into a temporary entry, then publish atomically.
 *
 * This is what `pipeline exec ID` does, whichever executor launched it (local subprocess, Slurm job).
 *
 * @module
 */
import type { EntryReader, EntryWriter, Manifest } from "./store/store.ts";
import type { NDArray } from "../array.ts";
import type { Plan } from "./plan.ts";
import type { InputEntry, Progress, StageContext } from "./task.ts";

/** What a running stage reports to whoever launched it. */
export type StageEvent =
  | { type: "start"; id: string; key: string; resumed: string[] }
  | { type: "progress"; id: string; total: number; done: number; unit: string; label?: string; info?: string }
  | { type: "log"; id: string; message: string }
  | {
    type: "done";
    id: string;
    key: string;
    seconds: number;
    cached: boolean;
    metrics: Record<string, unknown>;
  }
  | { type: "failed"; id: string; error: string };

/** A stage that cannot start: its inputs are not (intact) in the store. */
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
  if (sharded) {
    const count = stage.task.shards?.(stage.params);
    if (count === undefined) throw new Error(`stage ${id} (task ${stage.task.name}) is not sharded`);
    if (!Number.isInteger(opts.shard) || opts.shard! < 0 || opts.shard! >= count) {
      throw new Error(`stage ${id} has shards 0..${count - 1}; got --shard ${opts.shard}`);
    }
  }

  // Inputs: every one published and intact (full checksums) before any work starts.
  const readers = new Map<string, EntryReader>();
  for (const ids of Object.values(stage.inputs)) {
    for (const dep of ids) {
      const dk = plan.stages.get(dep)!.key;
      const st = await store.check(dk, true);
      if (st.state !== "ok") {
        throw new MissingInputError(
          `stage ${id} needs the outputs of ${dep} (key ${dk}), which ${
            st.state === "missing"
              ? "are not in the store: run that stage first"
              : `are damaged (${st.reason}): rerun the pipeline to recompute them`
          }`,
        );
      }
      readers.set(dep, store.reader(dk, st.manifest));
    }
  }

  // One process per key at a time; the shards of a job array each lock their own shard, so that
  // they run side by side (each writes only its own checkpoint slot).
  const lockName = opts.shard === undefined ? key : `${key}.shard-${opts.shard}`;
  const lock = await store.lockKey(lockName, opts.command ?? `exec ${id}`, { wait: true });
  let writer: EntryWriter | null = null;
  const onSignal = () => {
    // The published store is never touched here; drop the partial entry and leave.
    const w = writer;
    (w ? w.abort() : Promise.resolve()).finally(() => lock.release()).finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = opts.exitOnSignal ? ["SIGINT", "SIGTERM"] : [];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const existing = await store.check(key);
    if (existing.state === "ok" && !opts.force) {
      emit({ type: "done", id, key, seconds: 0, cached: true, metrics: existing.manifest.metrics });
      return existing.manifest;
    }
    // A damaged entry is set aside by whoever publishes the key (a shard holds only its own lock).
    if (existing.state === "damaged" && !sharded) await store.quarantine(key);
    const checkpoints = store.checkpoints(key);
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
    const entry = (dep: string): InputEntry => {
      const r = readers.get(dep)!;
      const m = r.manifest;
      const producer = plan.graph.stages.get(dep);
      return {
        stageId: dep,
        loop: producer?.loop ?? null,
        lap: producer?.lap ?? null,
        key: m.key,
        task: m.task,
        params: m.params,
        arrays: m.arrays,
        metrics: m.metrics,
        meta: m.meta ?? {},
        array: (name) => r.array(name),
        rows: (name, a, b) => r.rows(name, a, b),
        json: (name) => r.json(name),
        has: (name) => name in m.arrays,
      };
    };
    const ctx: StageContext = {
      id,
      key,
      params: stage.params,
      seed: stage.seed,
      lap: stage.lap,
      loop: stage.loop,
      shard: opts.shard ?? null,
      backend: opts.backend,
      baseDir: plan.graph.spec.dir,
      signal: opts.signal ?? new AbortController().signal,
      input(name) {
        const ids = stage.inputs[name];
        if (!ids || ids.length !== 1) {
          throw new Error(`stage ${id}: input "${name}" is not wired to one stage`);
        }
        return entry(ids[0]);
      },
      optionalInput(name) {
        const ids = stage.inputs[name];
        return ids && ids.length === 1 ? entry(ids[0]) : null;
      },
      inputList(name) {
        return (stage.inputs[name] ?? []).map(entry);
      },
      writeArray: (name: string, array: NDArray, attrs?: Record<string, unknown>) => {
        checkFinite(id, name, array);
        return out().writeArray(name, array, attrs);
      },
      writeJson: (name, value) => out().writeJson(name, value),
      writeFile: (name, bytes) => out().writeFile(name, bytes),
      metrics: (values) => Object.assign(metrics, values),
      meta: (values) => Object.assign(meta, values),
      progress: progressReporter(id, emit),
      checkpoints: {
        save: (slot, state, arrays) => checkpoints.save(slot, state, arrays),
        load: (slot) => checkpoints.load(slot),
        list: () => checkpoints.list(),
      },
      log: (message) => emit({ type: "log", id, message }),
    };
    await stage.task.run(ctx);
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
    const manifest = await out().publish({
      task: stage.task.name,
      version: stage.task.version,
      stage: id,
      params: stage.params,
      seed: stage.seed,
      inputs: p.inputKeys,
      metrics,
      meta: {
        ...meta,
        started: started.toISOString(),
        finished: finished.toISOString(),
        seconds,
        host: Deno.hostname(),
        pid: Deno.pid,
      },
    }, opts.force);
    writer = null;
    await store.dropCheckpoints(key);
    await store.writeRef(id, {
      key,
      task: stage.task.name,
      version: stage.task.version,
      params: stage.params,
      seed: stage.seed,
      inputs: p.inputKeys,
      at: finished.toISOString(),
    });
    emit({ type: "done", id, key, seconds, cached: false, metrics });
    return manifest;
  } catch (e) {
    if (writer) await (writer as EntryWriter).abort();
    throw e;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await lock.release();
  }
}

/** Outputs must be finite: a NaN written now would silently poison every later lap. */
function checkFinite(id: string, name: string, array: NDArray): void {
  const d = array.data;
  if (d instanceof Float32Array || d instanceof Float64Array) {
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new Error(
          `stage ${id} produced a non-finite value (${
            d[i]
          }) in output "${name}" at flat index ${i}; nothing was published`,
        );
      }
    }
  }
}

function progressReporter(id: string, emit: (e: StageEvent) => void): Progress {
  let total = 0, done = 0, unit = "", label: string | undefined, info: string | undefined, last = 0;
  const send = (force: boolean) => {
    const now = performance.now();
    if (!force && now - last < 100 && done < total) return;
    last = now;
    emit({ type: "progress", id, total, done, unit, label, info });
  };
  return {
    start(t, u, d = 0, l) {
      total = t;
      unit = u;
      done = d;
      label = l;
      info = undefined;
      send(true);
    },
    tick(n = 1, i) {
      done += n;
      if (i !== undefined) info = i;
      send(done >= total);
    },
  };
}
