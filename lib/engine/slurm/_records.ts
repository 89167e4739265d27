/**
 * The job records of a store: what a run submitted for a stage key, kept in
 * `<store>/slurm/<key>.json` while the jobs live, so that a later run waits for a detached (or
 * orphaned) run's jobs instead of submitting them again, and `status` shows where they stand.
 *
 * @module
 */
import { jobIds, jobLive, type JobState, type SlurmClient, SlurmCommands } from "./_queue.ts";

/**
 * What a run submitted for one stage key: kept in `<store>/slurm/<key>.json` while the jobs live.
 *
 * @example
 * ```json
 * { "stage": "em[0].sample", "key": "6d53…", "job": "12", "arrayJob": "11", "shards": 3,
 *   "submittedAt": "2026-11-22T18:27:18.000Z", "submittedBy": "login1:4242" }
 * ```
 */
export interface SlurmJobRecord {
  /** The stage id. */
  stage: string;
  /** The stage's key (its entry in the store, once published). */
  key: string;
  /** The job that publishes the stage (for a sharded stage, the one that gathers the shards). */
  job: string;
  /** The job array computing the shards, for sharded stages. */
  arrayJob?: string;
  /** How many shards the job array has. */
  shards?: number;
  /** ISO time of submission. */
  submittedAt: string;
  /** `host:pid` of the run that submitted it. */
  submittedBy: string;
}

function recordPath(storeRoot: string, key: string): string {
  return `${storeRoot}/slurm/${key}.json`;
}

function hostnameOr(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/**
 * The record of jobs this process has just submitted for a stage (`arrayJob`: its shards' array).
 *
 * @example
 * ```ts
 * newRecord("em[0].sample", p.key, "12", "11", 3); // { stage, key, job: "12", arrayJob: "11", shards: 3, submittedAt, submittedBy }
 * ```
 */
export function newRecord(
  stage: string,
  key: string,
  job: string,
  arrayJob: string | undefined,
  shards: number,
): SlurmJobRecord {
  return {
    stage,
    key,
    job,
    ...(arrayJob ? { arrayJob, shards } : {}),
    submittedAt: new Date().toISOString(),
    submittedBy: `${hostnameOr()}:${Deno.pid}`,
  };
}

/**
 * The job records of a store (what detached or interrupted runs left submitted), by stage key.
 *
 * @example
 * ```ts
 * for (const [key, r] of await readJobRecords(".store")) console.log(r.stage, "job", r.job);
 * ```
 */
export async function readJobRecords(storeRoot: string): Promise<Map<string, SlurmJobRecord>> {
  const out = new Map<string, SlurmJobRecord>();
  try {
    for await (const e of Deno.readDir(`${storeRoot}/slurm`)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      try {
        const r = JSON.parse(await Deno.readTextFile(`${storeRoot}/slurm/${e.name}`)) as SlurmJobRecord;
        if (r.key && r.job) out.set(r.key, r);
      } catch { /* being written, or not ours */ }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/**
 * Write a stage's job record (atomically: a reader never sees half of it).
 *
 * @example
 * ```ts
 * await writeRecord(plan.store.root, newRecord(id, p.key, job, undefined, 0));
 * ```
 */
export async function writeRecord(storeRoot: string, r: SlurmJobRecord): Promise<void> {
  const p = recordPath(storeRoot, r.key);
  await Deno.writeTextFile(`${p}.${Deno.pid}.tmp`, JSON.stringify(r, null, 1) + "\n");
  await Deno.rename(`${p}.${Deno.pid}.tmp`, p);
}

/**
 * Remove a stage's job record (its jobs ended, or were cancelled); a missing record is no error.
 *
 * @example
 * ```ts
 * await dropRecord(plan.store.root, p.key);
 * ```
 */
export async function dropRecord(storeRoot: string, key: string): Promise<void> {
  await Deno.remove(recordPath(storeRoot, key)).catch(() => {});
}

/**
 * Where a recorded stage's job stands (see {@link queuedStages}).
 *
 * @example
 * ```ts
 * if (q.state === "running") console.log(`running on slurm (job ${q.record.job})`);
 * ```
 */
export interface QueuedStage {
  /** What was submitted for the stage. */
  record: SlurmJobRecord;
  /** `queued` or `running` while its jobs live; `ended` once Slurm no longer runs them; `unknown` when the queue cannot be asked. */
  state: "queued" | "running" | "ended" | "unknown";
  /** Why the state is unknown (squeue failed). */
  error?: string;
}

/**
 * Where the stages a store has job records for stand in Slurm's queue (for `status`).
 *
 * @example
 * ```ts
 * const q = await queuedStages(".store", ["3f2a…"]);
 * // Map { "3f2a…" => { record: { stage: "em[0].fit", job: "42", … }, state: "running" } }
 * ```
 */
export async function queuedStages(
  storeRoot: string,
  keys: string[],
  client: SlurmClient = new SlurmCommands(),
): Promise<Map<string, QueuedStage>> {
  const records = await readJobRecords(storeRoot);
  const wanted = keys.map((k) => records.get(k)).filter((r): r is SlurmJobRecord => r !== undefined);
  const out = new Map<string, QueuedStage>();
  if (!wanted.length) return out;
  let states: Map<string, JobState>;
  try {
    states = await client.states(wanted.flatMap(jobIds));
  } catch (e) {
    for (const r of wanted) out.set(r.key, { record: r, state: "unknown", error: (e as Error).message });
    return out;
  }
  for (const r of wanted) {
    const running = [...states.values()].some((s) =>
      s.state === "RUNNING" && (s.job === r.job || (r.arrayJob && s.job.startsWith(`${r.arrayJob}_`)))
    );
    out.set(r.key, {
      record: r,
      state: !jobLive(r, states) ? "ended" : running ? "running" : "queued",
    });
  }
  return out;
}
