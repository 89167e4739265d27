/**
 * Judging a followed stage once its jobs end, from Slurm's queue and the store (the store is the
 * source of truth: a job whose stage entry is in the store succeeded): ran or cached; failed, with
 * why, where and its log tail; or skipped because a job it depends on failed.
 *
 * @module
 */
import { type StageOutcome, tailBeyond } from "../executor.ts";
import type { Plan } from "../plan.ts";
import { tailOf } from "./_logs.ts";
import { type JobState, LIVE_STATES, type SlurmClient } from "./_queue.ts";
import { inputStages } from "./_script.ts";
import type { Tracked } from "./_tracked.ts";

/**
 * What judging a stage needs of the run: the plan and its store, the queue client (to cancel what
 * is left of a failed stage's jobs, and to ask where a job ran), and the stages followed so far.
 *
 * @example
 * ```ts
 * const j: Judging = { plan, client: new SlurmCommands(), tailLines: 40, tracked, outcomes };
 * ```
 */
export interface Judging {
  plan: Plan;
  client: SlurmClient;
  /** Lines of a failed job's stderr to show. */
  tailLines: number;
  tracked: Map<string, Tracked>;
  outcomes: Map<string, StageOutcome>;
}

/**
 * The outcome of a stage whose jobs ended; null while they live.
 *
 * @example
 * ```ts
 * const o = await judge({ plan, client, tailLines: 40, tracked, outcomes }, t, await client.states(jobIds(t)));
 * if (o?.state === "failed") console.error(o.error, o.logTail);
 * ```
 */
export async function judge(
  j: Judging,
  t: Tracked,
  states: Map<string, JobState>,
): Promise<StageOutcome | null> {
  const seconds = () => t.seconds ?? (Date.now() - (t.started ?? t.submitted)) / 1000;
  // A shard that failed fails the stage (the gather job is then cancelled by Slurm).
  if (t.arrayJob) {
    for (let s = 0; s < t.shards; s++) {
      const job = `${t.arrayJob}_${s}`;
      const st = states.get(job);
      if (!st || LIVE_STATES.has(st.state) || st.state === "COMPLETED") continue;
      if (st.state === "CANCELLED" && st.reason === "DependencyNeverSatisfied") {
        return upstreamSkip(j, t);
      }
      await j.client.cancel([t.job, t.arrayJob]); // the gather job, and the shards still going
      return await failure(j, t, job, st, seconds(), `shard ${s} of ${t.shards}`);
    }
  }
  const st = states.get(t.job);
  if (st && LIVE_STATES.has(st.state)) {
    if (st.reason !== "DependencyNeverSatisfied") return null;
    await j.client.cancel([t.job]); // a cluster without kill_invalid_depend keeps it pending
    return upstreamSkip(j, t);
  }
  if (!st || st.state === "COMPLETED") {
    const entry = await j.plan.store.check(t.p.key);
    if (entry.state === "ok") return { id: t.id, state: t.cached ? "cached" : "ran", seconds: seconds() };
    const log = `${j.plan.store.root}/logs/${t.p.key}.${t.job}`;
    return {
      id: t.id,
      state: "failed",
      seconds: seconds(),
      error: st
        ? `slurm job ${t.job} completed but the stage's entry ${t.p.key} is not in the store ` +
          `${j.plan.store.root} (log ${log}.err)`
        : `slurm job ${t.job} is no longer in the queue and the stage's entry ${t.p.key} is not in the store ` +
          `(log ${log}.err)`,
      logTail: (await tailOf(`${log}.err`, j.tailLines)) ?? [],
    };
  }
  if (st.state === "CANCELLED" && st.reason === "DependencyNeverSatisfied") {
    return upstreamSkip(j, t);
  }
  return await failure(j, t, t.job, st, seconds(), null);
}

/** A stage whose job Slurm cancelled because a job it depends on failed: which stage, if known. */
function upstreamSkip(j: Judging, t: Tracked): StageOutcome {
  const up = inputStages(t.p).find((d) => j.tracked.has(d) && j.outcomes.get(d)?.state !== "ran");
  return {
    id: t.id,
    state: "skipped",
    seconds: 0,
    error: `slurm cancelled job ${t.job}: ${
      up ? `upstream stage ${up} failed` : "a job it depends on failed"
    }`,
  };
}

/** A job that ended otherwise than COMPLETED: why (from its events, or its state), where, its log tail. */
async function failure(
  j: Judging,
  t: Tracked,
  job: string,
  st: JobState,
  seconds: number,
  shard: string | null,
): Promise<StageOutcome> {
  const log = `${j.plan.store.root}/logs/${t.p.key}.${job}.err`;
  const info = await j.client.describe(job);
  const node = [st.nodes, info?.NodeList, info?.BatchHost].find((n) => n && n !== "(null)") ?? "";
  const where = `slurm job ${job}${node ? ` on ${node}` : ""}`;
  const exit = info?.ExitCode ? ` with exit code ${info.ExitCode.replace(/:0$/, "")}` : "";
  const reported = t.failures.get(job);
  const why = reported ??
    (st.state === "CANCELLED"
      ? "cancelled outside this run"
      : st.state === "TIMEOUT"
      ? "hit its time limit: raise resources.time (its checkpoints are kept)"
      : st.state === "OUT_OF_MEMORY"
      ? "ran out of memory: raise resources.memory"
      : `ended ${st.state}${exit}`);
  let error = `${shard ? `${shard}: ` : ""}${why} (${where}; log ${log})`;
  const logTail = await tailOf(log, j.tailLines);
  if (logTail === null) {
    error += `; the log was never written: is the store ${j.plan.store.root} visible on ${
      node || "the node"
    }? It must be on a filesystem every node sees`;
  }
  return { id: t.id, state: "failed", seconds, error, logTail: tailBeyond(logTail ?? [], reported) };
}
