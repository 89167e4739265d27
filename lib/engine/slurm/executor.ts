/**
 * The Slurm executor: every selected stage becomes an `sbatch` job that runs the stage in a fresh
 * process (the same command the local executor runs), with `--dependency=afterok:…` on the jobs of
 * its inputs. The shards of a sharded stage (an E-step) go out as one job array; the job that
 * gathers them and publishes the stage depends on the whole array.
 *
 * The store is the source of truth: a job whose stage entry is in the store succeeded. Slurm's
 * queue (`squeue`, `scontrol`; no `sacct`) says what is pending, running, failed or cancelled. Jobs write their logs under the store, so their
 * progress events are followed like a local stage's and a failed job's log tail reaches the user;
 * each job first checks that it sees the store (it must be on a filesystem every node sees).
 *
 * What a run submitted is recorded in `<store>/slurm/<key>.json` (job ids, stage, time), so that a
 * detached run's jobs are picked up by a later run (which waits for them instead of submitting
 * again) and shown by `status`.
 *
 * ```
 * <store>/logs/<key>.<job>.out         events and log lines of the job (array elements: <job>_<i>)
 * <store>/logs/<key>.<job>.err         its stderr (the tail shown when it fails)
 * <store>/slurm/<key>.json             the jobs submitted for a stage key (removed when they end)
 * <store>/slurm/<key>.sh, .shards.sh   the scripts submitted
 * ```
 *
 * @module
 */
import type { ExecutionRequest, Executor, StageCommand, StageOutcome } from "../executor.ts";
import type { Plan, PlannedStage, Selection } from "../plan.ts";
import type { StageEvent } from "../stage.ts";
import { judge } from "./_judge.ts";
import {
  jobIds,
  jobLive,
  type JobState,
  LIVE_STATES,
  sleep,
  type SlurmClient,
  SlurmCommands,
} from "./_queue.ts";
import { dropRecord, newRecord, readJobRecords, type SlurmJobRecord, writeRecord } from "./_records.ts";
import { dryRunScripts, inputStages, type JobScript, jobScript, scriptPath, shardCount } from "./_script.ts";
import { followLogs, type Tracked, tracking } from "./_tracked.ts";

/**
 * Options of {@link SlurmExecutor}.
 *
 * @example
 * ```ts
 * const opts: SlurmExecutorOptions = { stageCommand, workdir: graph.spec.dir, detach: true, pollMs: 2000 };
 * ```
 */
export interface SlurmExecutorOptions {
  /** The command that runs one stage (or, with `shard`, one shard of it) in a fresh process. */
  stageCommand: StageCommand;
  /** Working directory of the jobs (`--chdir`). */
  workdir: string;
  /** Submit and return: leave the jobs to Slurm (a later run or `status` picks them up). */
  detach?: boolean;
  /** How often to ask the queue, in ms (default 1000). */
  pollMs?: number;
  /** Lines of a failed job's stderr to show (default 40). */
  tailLines?: number;
  /** Give up following the jobs after the queue has not answered for this long, in ms (default 120000). */
  lostAfterMs?: number;
  /** How to reach Slurm (default: its commands on the PATH). */
  client?: SlurmClient;
}

/**
 * Runs the selected stages as Slurm jobs: one `sbatch` job per stage, `afterok` dependencies on
 * the jobs of its inputs, a job array for the shards of a sharded stage. Follows the jobs until
 * they end (or, with `detach`, returns once they are submitted); cancels the jobs it submitted,
 * by id, when the run is interrupted.
 *
 * @example
 * ```ts
 * const executor = new SlurmExecutor({
 *   workdir: graph.spec.dir,
 *   stageCommand: (id, { force, shard }) => ({
 *     command: Deno.execPath(),
 *     args: ["run", "-A", "cli.ts", "exec", id, "--events", ...(force ? ["--force"] : []), ...(shard ? ["--shard", shard] : [])],
 *   }),
 * });
 * const summary = await runPipeline(graph, { executor });
 * ```
 */
export class SlurmExecutor implements Executor {
  /** The executor's name in messages. */
  readonly name = "slurm";
  readonly #client: SlurmClient;

  /** An executor that submits with `opts.client` (default: the Slurm commands on the PATH). */
  constructor(readonly opts: SlurmExecutorOptions) {
    this.#client = opts.client ?? new SlurmCommands();
  }

  /**
   * The batch scripts a run would submit for `selection`, with the jobs they wait for named by
   * stage (`afterok:<obs>`): what `--dry-run --executor slurm` prints.
   */
  scripts(plan: Plan, selection: Selection): JobScript[] {
    return dryRunScripts(plan, selection, this.opts);
  }

  /**
   * Submit the selected stages in dependency order (waiting instead for the jobs an earlier run
   * left in the queue for them), then follow the jobs until every stage has an outcome.
   */
  async execute(req: ExecutionRequest): Promise<Map<string, StageOutcome>> {
    const { plan, selection, onEvent, signal } = req;
    const root = plan.store.root;
    await Deno.mkdir(`${root}/logs`, { recursive: true });
    await Deno.mkdir(`${root}/slurm`, { recursive: true });
    const outcomes = new Map<string, StageOutcome>();
    const tracked = new Map<string, Tracked>();
    const { records, queue } = await this.#earlierJobs(plan, selection);

    // Submit in dependency order.
    for (const id of selection.run) {
      if (signal.aborted) break;
      const p = plan.stages.get(id)!;
      const rec = records.get(p.key);
      if (rec && rec.stage === id && jobLive(rec, queue)) {
        tracked.set(id, tracking(p, rec, { adopted: true }));
        onEvent({
          type: "log",
          id,
          message: `already on slurm as job ${rec.job} (submitted ${rec.submittedAt} by ${rec.submittedBy})`,
        });
        continue;
      }
      if (rec) {
        await this.#client.cancel(jobIds(rec)); // a dead dependency's leftovers
        await dropRecord(root, p.key);
      }
      const inputs = inputStages(p).filter((d) => selection.run.includes(d));
      const broken = inputs.find((d) => outcomes.has(d));
      if (broken) {
        outcomes.set(id, { id, state: "skipped", seconds: 0, error: `upstream stage ${broken} failed` });
        continue;
      }
      const deps = inputs.map((d) => tracked.get(d)!.job);
      const job = { force: selection.forced.has(id), deps, shards: shardCount(p) };
      try {
        tracked.set(id, await this.#submitStage(plan, p, job, onEvent));
      } catch (e) {
        if (signal.aborted) break; // sbatch got the Ctrl-C too
        outcomes.set(id, {
          id,
          state: "failed",
          seconds: 0,
          error: `sbatch refused the job of stage ${id}: ${(e as Error).message}`,
        });
      }
    }

    if (signal.aborted) return await this.#cancelAll(plan, tracked, outcomes, onEvent);
    if (this.opts.detach) {
      for (const t of tracked.values()) {
        outcomes.set(t.id, { id: t.id, state: "submitted", seconds: 0, job: t.job });
      }
      return outcomes;
    }
    return await this.#follow(plan, tracked, outcomes, onEvent, signal);
  }

  /**
   * The job records earlier runs left (detached, or whose submitter died), and what the queue says
   * of the selected stages' jobs among them; records of stages now cached are dropped.
   */
  async #earlierJobs(
    plan: Plan,
    selection: Selection,
  ): Promise<{ records: Map<string, SlurmJobRecord>; queue: Map<string, JobState> }> {
    const root = plan.store.root;
    const records = await readJobRecords(root);
    for (const [key, r] of records) {
      const p = plan.stages.get(r.stage);
      if (p?.key === key && p.status === "cached") await dropRecord(root, key);
    }
    const recorded = selection.run.map((id) => records.get(plan.stages.get(id)!.key))
      .filter((r): r is SlurmJobRecord => r !== undefined);
    let queue = new Map<string, JobState>();
    if (recorded.length) queue = await this.#client.states(recorded.flatMap(jobIds));
    return { records, queue };
  }

  /** Submit a stage's jobs (its shards' job array first, if it has shards) and record them. */
  async #submitStage(
    plan: Plan,
    p: PlannedStage,
    { force, deps, shards }: { force: boolean; deps: string[]; shards: number },
    onEvent: (e: StageEvent) => void,
  ): Promise<Tracked> {
    const { id } = p.stage;
    let arrayJob: string | undefined;
    if (shards > 1) {
      arrayJob = await this.#submit(plan, jobScript(plan, p, this.opts, { force, deps, arrayOf: shards }));
    }
    const job = await this.#submit(
      plan,
      jobScript(plan, p, this.opts, { force, deps: arrayJob ? [arrayJob] : deps, arrayOf: 0 }),
    );
    const rec = newRecord(id, p.key, job, arrayJob, shards);
    await writeRecord(plan.store.root, rec);
    onEvent({
      type: "log",
      id,
      message: `submitted as slurm job ${job}${
        arrayJob ? ` (shards: job array ${arrayJob}, 0-${shards - 1})` : ""
      }${deps.length ? ` after ${deps.join(", ")}` : ""}`,
    });
    return tracking(p, rec, { adopted: false });
  }

  async #submit(plan: Plan, s: JobScript): Promise<string> {
    const path = scriptPath(plan.store.root, s);
    await Deno.writeTextFile(path, s.text);
    return await this.#client.submit(path);
  }

  /** Poll the queue and the jobs' logs until every tracked stage has an outcome. */
  async #follow(
    plan: Plan,
    tracked: Map<string, Tracked>,
    outcomes: Map<string, StageOutcome>,
    onEvent: (e: StageEvent) => void,
    signal: AbortSignal,
  ): Promise<Map<string, StageOutcome>> {
    const root = plan.store.root;
    const pollMs = this.opts.pollMs ?? 1000;
    const tailLines = this.opts.tailLines ?? 40;
    let lastAnswer = Date.now();
    const open = () => [...tracked.values()].filter((t) => !outcomes.has(t.id));
    const finish = async (t: Tracked, o: StageOutcome) => {
      outcomes.set(t.id, { ...o, job: t.job });
      await dropRecord(root, t.p.key);
      if (o.state === "failed") await this.#skipDependents(plan, t.id, tracked, outcomes, onEvent);
    };
    while (open().length) {
      if (signal.aborted) return await this.#cancelAll(plan, tracked, outcomes, onEvent);
      let states: Map<string, JobState>;
      try {
        states = await this.#client.states(open().flatMap(jobIds));
        lastAnswer = Date.now();
      } catch (e) {
        if (signal.aborted) continue;
        if (Date.now() - lastAnswer > (this.opts.lostAfterMs ?? 120_000)) {
          for (const t of open()) {
            await finish(t, {
              id: t.id,
              state: "failed",
              seconds: 0,
              error: `lost contact with Slurm (${
                (e as Error).message
              }); job ${t.job} may still be running: rerun to pick it up`,
            });
          }
          break;
        }
        await sleep(pollMs, signal);
        continue;
      }
      for (const t of open()) {
        if (outcomes.has(t.id)) continue; // skipped because of a failure found in this pass
        await followLogs(t, states, onEvent, root);
        const o = await judge({ plan, client: this.#client, tailLines, tracked, outcomes }, t, states);
        if (o) await finish(t, o);
      }
      if (open().length) await sleep(pollMs, signal);
    }
    return outcomes;
  }

  /** A failed stage's dependents never run: mark them skipped, and cancel their jobs (by id). */
  async #skipDependents(
    plan: Plan,
    failed: string,
    tracked: Map<string, Tracked>,
    outcomes: Map<string, StageOutcome>,
    onEvent: (e: StageEvent) => void,
  ): Promise<void> {
    const cancel: string[] = [];
    const visit = async (id: string) => {
      for (const d of plan.graph.dependents.get(id) ?? []) {
        const t = tracked.get(d);
        if (!t || outcomes.has(d)) continue;
        outcomes.set(d, {
          id: d,
          state: "skipped",
          seconds: 0,
          job: t.job,
          error: `upstream stage ${failed} failed; slurm job ${t.job} cancelled`,
        });
        cancel.push(...jobIds(t));
        await dropRecord(plan.store.root, t.p.key);
        onEvent({ type: "log", id: d, message: `cancelled (job ${t.job}): upstream stage ${failed} failed` });
        await visit(d);
      }
    };
    await visit(failed);
    await this.#client.cancel(cancel);
  }

  /** Ctrl-C: cancel the jobs this run submitted (by id), wait until they stop, leave others alone. */
  async #cancelAll(
    plan: Plan,
    tracked: Map<string, Tracked>,
    outcomes: Map<string, StageOutcome>,
    onEvent: (e: StageEvent) => void,
  ): Promise<Map<string, StageOutcome>> {
    const mine = [...tracked.values()].filter((t) => !outcomes.has(t.id) && !t.adopted);
    const ids = mine.flatMap(jobIds);
    if (ids.length) {
      onEvent({ type: "log", id: "slurm", message: `cancelling jobs ${ids.join(", ")}` });
      await this.#client.cancel(ids);
      // Wait (briefly) until they have stopped, so that the store is quiet when the run returns.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const states = await this.#client.states(ids).catch(() => new Map<string, JobState>());
        if (![...states.values()].some((s) => LIVE_STATES.has(s.state))) break;
        await sleep(500);
      }
    }
    for (const t of mine) {
      outcomes.set(t.id, { id: t.id, state: "cancelled", seconds: 0, job: t.job });
      await dropRecord(plan.store.root, t.p.key);
    }
    for (const t of tracked.values()) {
      if (outcomes.has(t.id)) continue;
      onEvent({
        type: "log",
        id: t.id,
        message: `left running: job ${t.job} was submitted by an earlier run`,
      });
      outcomes.set(t.id, { id: t.id, state: "submitted", seconds: 0, job: t.job });
    }
    return outcomes;
  }
}
