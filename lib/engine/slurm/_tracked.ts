/**
 * A stage the Slurm executor follows in the queue: its jobs, and following their logs, whose
 * events drive the progress view as a local stage's do and say when it started, whether it was
 * cached and which of its jobs reported a failure.
 *
 * @module
 */
import type { PlannedStage } from "../plan.ts";
import type { StageEvent } from "../stage.ts";
import { LogTail, parseEvent } from "./_logs.ts";
import type { JobState } from "./_queue.ts";
import type { SlurmJobRecord } from "./_records.ts";

/**
 * A stage this run follows in the queue.
 *
 * @example
 * ```ts
 * const t: Tracked = tracking(p, record, { adopted: false });
 * t.failures.get(`${t.arrayJob}_2`); // the error shard 2 reported, if it failed
 * ```
 */
export interface Tracked {
  id: string;
  p: PlannedStage;
  job: string;
  arrayJob?: string;
  shards: number;
  /** Submitted by an earlier run: left alone on Ctrl-C. */
  adopted: boolean;
  submitted: number;
  started?: number;
  logs: Map<string, LogTail>;
  /** Job (or array element) → the error its stage process reported (from its events). */
  failures: Map<string, string>;
  cached?: boolean;
  seconds?: number;
}

/**
 * Start following the jobs of a record: ones this run just submitted, or (`adopted`) ones an
 * earlier run left in the queue, whose submission time is the record's.
 *
 * @example
 * ```ts
 * tracked.set(id, tracking(p, rec, { adopted: true }));
 * ```
 */
export function tracking(p: PlannedStage, rec: SlurmJobRecord, { adopted }: { adopted: boolean }): Tracked {
  return {
    id: rec.stage,
    p,
    job: rec.job,
    arrayJob: rec.arrayJob,
    shards: rec.shards ?? 0,
    adopted,
    submitted: adopted ? Date.parse(rec.submittedAt) || Date.now() : Date.now(),
    logs: new Map(),
    failures: new Map(),
  };
}

/**
 * Follow the `.out` logs of a stage's jobs: its events drive the progress view like a local
 * stage's (a shard's under `<id> [shard i]`), other lines become log events, and what the events
 * say (started, cached, failed) is noted on `t`.
 *
 * @example
 * ```ts
 * await followLogs(t, await client.states(jobIds(t)), onEvent, plan.store.root);
 * ```
 */
export async function followLogs(
  t: Tracked,
  states: Map<string, JobState>,
  onEvent: (e: StageEvent) => void,
  root: string,
): Promise<void> {
  // The shards' logs first: they end before the job that gathers them starts.
  const files: [string, number | null][] = [];
  if (t.arrayJob) {
    for (let s = 0; s < t.shards; s++) files.push([`${t.arrayJob}_${s}`, s]);
  }
  files.push([t.job, null]);
  for (const [job, shard] of files) {
    const st = states.get(job);
    if (st && (st.state === "PENDING" || st.reason === "DependencyNeverSatisfied")) continue;
    if (st?.state === "RUNNING") t.started ??= Date.now();
    let tail = t.logs.get(job);
    if (!tail) t.logs.set(job, tail = new LogTail(`${root}/logs/${t.p.key}.${job}.out`));
    for (const line of await tail.read()) {
      const e = parseEvent(line);
      if (!e) {
        if (line.trim()) onEvent({ type: "log", id: t.id, message: line });
        continue;
      }
      if (e.type === "failed") t.failures.set(job, e.error);
      if (shard === null) stageEvent(t, e, onEvent);
      else shardEvent(t, e, job, shard, onEvent);
    }
  }
}

/** An event of the job that runs (or gathers and publishes) the stage. */
function stageEvent(t: Tracked, e: StageEvent, onEvent: (e: StageEvent) => void): void {
  if (e.type === "start") t.started ??= Date.now();
  if (e.type === "done") {
    t.cached = e.cached;
    t.seconds = e.seconds;
  }
  onEvent(e);
}

/** An event of one shard's job: shown under the shard's name; a shard already done is not news. */
function shardEvent(
  t: Tracked,
  e: StageEvent,
  job: string,
  shard: number,
  onEvent: (e: StageEvent) => void,
): void {
  const name = `${t.id} [shard ${shard}]`;
  if (e.type === "start") {
    t.started ??= Date.now();
    onEvent({ type: "log", id: t.id, message: `shard ${shard} of ${t.shards} started (job ${job})` });
  } else if (e.type === "failed") {
    onEvent({ ...e, id: name });
  } else if (e.type === "done") {
    if (!e.cached) onEvent({ ...e, id: name });
  } else {
    onEvent({ ...e, id: name } as StageEvent);
  }
}
