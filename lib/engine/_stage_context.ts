/**
 * The {@link StageContext} a task runs with (private to stage.ts): its inputs read from published
 * entries, its outputs written into the stage's temporary entry (checked finite), its progress
 * and log sent as {@link StageEvent}s, its checkpoints kept under the stage key.
 *
 * @module
 */
import type { NDArray } from "../array.ts";
import type { Plan, PlannedStage } from "./plan.ts";
import type { CheckpointDir, EntryReader, EntryWriter } from "./store/store.ts";
import type { InputEntry, Progress, StageContext } from "./task.ts";
import type { StageEvent } from "./_stage_event.ts";
import { StageMismatchError } from "./_stage_mismatch.ts";

/** What a stage's context is made of. */
export interface ContextParts {
  plan: Plan;
  planned: PlannedStage;
  /** Producing stage id → reader of its published entry, for every input. */
  readers: Map<string, EntryReader>;
  checkpoints: CheckpointDir;
  /** The entry being written (throws for a shard, which writes none). */
  out: () => EntryWriter;
  /** Filled by the task's `metrics` and `meta` calls. */
  metrics: Record<string, unknown>;
  meta: Record<string, unknown>;
  shard: number | null;
  backend: string;
  signal: AbortSignal;
  emit: (e: StageEvent) => void;
}

/**
 * The context of the planned stage in `parts`.
 *
 * @example
 * ```ts
 * await stage.task.run(stageContext({ plan, planned, readers, checkpoints, out, metrics, meta, … }));
 * ```
 */
export function stageContext(parts: ContextParts): StageContext {
  const { planned: { stage, key }, readers, checkpoints, out, emit } = parts;
  const id = stage.id;
  const entry = (dep: string) => inputEntry(parts.plan, dep, readers.get(dep)!);
  return {
    id,
    key,
    params: stage.params,
    seed: stage.seed,
    lap: stage.lap,
    loop: stage.loop,
    shard: parts.shard,
    backend: parts.backend,
    baseDir: parts.plan.graph.spec.dir,
    signal: parts.signal,
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
    metrics: (values) => Object.assign(parts.metrics, values),
    meta: (values) => Object.assign(parts.meta, values),
    progress: progressReporter(id, emit),
    checkpoints: {
      save: (slot, state, arrays) => checkpoints.save(slot, state, arrays),
      load: (slot) => checkpoints.load(slot),
      list: () => checkpoints.list(),
    },
    log: (message) => emit({ type: "log", id, message }),
  };
}

/** The published outputs of input stage `dep`, as a task reads them. `inputEntry(plan, "obs", reader).array("y")` */
export function inputEntry(plan: Plan, dep: string, r: EntryReader): InputEntry {
  const m = r.manifest;
  const producer = plan.graph.stages.get(dep);
  // A task that reads an array its input lacks was wired to the wrong kind of stage: the spec's to fix.
  const published = (name: string) => {
    if (name in m.arrays) return;
    throw new StageMismatchError(
      `stage ${dep} (task ${m.task}) has no array "${name}" (has: ${
        Object.keys(m.arrays).join(", ") || "none"
      }): wire a stage that publishes it`,
    );
  };
  return {
    stageId: dep,
    name: producer?.name ?? dep,
    loop: producer?.loop ?? null,
    lap: producer?.lap ?? null,
    member: producer?.member ?? "",
    key: m.key,
    task: m.task,
    params: m.params,
    arrays: m.arrays,
    metrics: m.metrics,
    meta: m.meta ?? {},
    array: (name) => (published(name), r.array(name)),
    rows: (name, a, b) => (published(name), r.rows(name, a, b)),
    json: (name) => r.json(name),
    has: (name) => name in m.arrays,
    files: m.files,
    file: (name) => Deno.readFile(r.filePath(name)),
  };
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

/** Progress of stage `id` as events, throttled to one every 100 ms (phase starts and ends always go). */
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
