/**
 * The Slurm executor: every selected stage becomes an `sbatch` job that runs the stage in a fresh
 * process (the same command the local executor runs), with `--dependency=afterok:…` on the jobs of
 * its inputs. The shards of a sharded stage (an E-step) go out as one job array; the job that
 * gathers them and publishes the stage depends on the whole array.
 *
 * The store is the source of truth: a job whose stage entry is in the store succeeded. Slurm's
 * queue (`squeue`, `scontrol`; no `sacct`) says what is pending, running, failed or cancelled.
 * Jobs write their logs under the store (`<store>/logs/<key>.<job>.out|err`), so their progress
 * events are followed like a local stage's and a failed job's log tail reaches the user; each job
 * first checks that it sees the store (it must be on a filesystem every node sees).
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
import {
  EVENT_MARK,
  type ExecutionRequest,
  type Executor,
  type StageCommand,
  type StageOutcome,
} from "../executor.ts";
import type { Plan, PlannedStage, Selection } from "../plan.ts";
import type { StageEvent } from "../stage.ts";
import type { Resources } from "../task.ts";

/**
 * The shard argument of a job array element: the index Slurm gives each element, expanded by the
 * job's shell.
 *
 * @example
 * ```ts
 * stageCommand("em[0].sample", { force: false, shard: ARRAY_TASK_ID }); // … exec em[0].sample --shard "$SLURM_ARRAY_TASK_ID"
 * ```
 */
export const ARRAY_TASK_ID = "$SLURM_ARRAY_TASK_ID";

/**
 * Resources of a stage whose task and spec name none (the cluster's defaults for the rest).
 *
 * @example
 * ```ts
 * sbatchFlags({}); // ["--cpus-per-task=1"]
 * ```
 */
export const DEFAULT_RESOURCES: Readonly<Resources> = { cpus: 1 };

/** Job states in which a job may still run (or is running). */
const LIVE_STATES = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "RESV_DEL_HOLD",
]);

/**
 * Quote a word for bash (single quotes), leaving {@link ARRAY_TASK_ID} to be expanded by the job.
 *
 * @example
 * ```ts
 * shellQuote("em[0].fit"); // "'em[0].fit'"
 * shellQuote(ARRAY_TASK_ID); // '"$SLURM_ARRAY_TASK_ID"'
 * ```
 */
export function shellQuote(word: string): string {
  if (word === ARRAY_TASK_ID) return `"${ARRAY_TASK_ID}"`;
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A value for an `#SBATCH` line (double-quoted when it has spaces). */
function directiveValue(v: string): string {
  return /[\s"]/.test(v) ? `"${v.replace(/(["\\])/g, "\\$1")}"` : v;
}

/** A string inside bash double quotes. */
function doubleQuoted(s: string): string {
  return s.replace(/(["\\$`])/g, "\\$1");
}

/**
 * The sbatch flags of a stage's resources (task defaults merged with the spec's `resources:`).
 *
 * @example
 * ```ts
 * sbatchFlags({ cpus: 2, memory: "8G", time: "4:00:00", gpus: 1, partition: "gpu", sbatch: ["--qos=long"] });
 * // ["--cpus-per-task=2", "--mem=8G", "--time=4:00:00", "--gpus=1", "--partition=gpu", "--qos=long"]
 * ```
 */
export function sbatchFlags(resources: Resources): string[] {
  const r = { ...DEFAULT_RESOURCES, ...resources };
  const flags: string[] = [];
  if (r.cpus !== undefined) flags.push(`--cpus-per-task=${r.cpus}`);
  if (r.memory !== undefined) flags.push(`--mem=${r.memory}`);
  if (r.time !== undefined) flags.push(`--time=${r.time}`);
  if (r.gpus) flags.push(`--gpus=${r.gpus}`);
  if (r.partition !== undefined) flags.push(`--partition=${r.partition}`);
  flags.push(...(r.sbatch ?? []));
  return flags;
}

/**
 * What the queue says about one job (or one element of a job array: `job` is `12_3`).
 *
 * @example
 * ```ts
 * const s: JobState = { job: "12_3", state: "CANCELLED", reason: "DependencyNeverSatisfied", nodes: "" };
 * ```
 */
export interface JobState {
  /** `12`, or `12_3` for element 3 of array job 12. */
  job: string;
  /** PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, … */
  state: string;
  /** Why it is pending or why it ended (`Dependency`, `DependencyNeverSatisfied`, `NonZeroExitCode`…). */
  reason: string;
  /** Node(s) it ran on (empty while pending). */
  nodes: string;
}

/**
 * How the executor talks to Slurm (replaceable, e.g. to reach a remote login node).
 *
 * @example
 * ```ts
 * const executor = new SlurmExecutor({ stageCommand, workdir, client: new SlurmCommands({ env: { SLURM_CONF: "/etc/slurm/other.conf" } }) });
 * ```
 */
export interface SlurmClient {
  /** Submit a batch script; returns the job id. */
  submit(scriptPath: string): Promise<string>;
  /** States of jobs (array ids expand to their elements); jobs Slurm has forgotten are absent. */
  states(jobs: string[]): Promise<Map<string, JobState>>;
  /** Cancel jobs by id. */
  cancel(jobs: string[]): Promise<void>;
  /** `scontrol show job` of one job, as fields (`ExitCode`, `NodeList`, `Reason`, …); null when forgotten. */
  describe(job: string): Promise<Record<string, string> | null>;
}

/**
 * The Slurm client commands on this machine's PATH: `sbatch`, `squeue`, `scancel`, `scontrol`.
 *
 * @example
 * ```ts
 * const slurm = new SlurmCommands();
 * const job = await slurm.submit("/shared/store/slurm/abc.sh");
 * console.log((await slurm.states([job])).get(job)?.state); // "PENDING"
 * ```
 */
export class SlurmCommands implements SlurmClient {
  constructor(readonly opts: { env?: Record<string, string> } = {}) {}

  async #run(command: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command(command, {
        args,
        env: this.opts.env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Error(`${command} not found: the Slurm client commands must be on the PATH`);
      }
      throw e;
    }
    const dec = new TextDecoder();
    return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr).trim() };
  }

  async submit(scriptPath: string): Promise<string> {
    const r = await this.#run("sbatch", ["--parsable", scriptPath]);
    const id = r.stdout.trim().match(/^(\d+)/)?.[1];
    if (!r.ok || !id) throw new Error(r.stderr || `sbatch printed no job id (${r.stdout.trim()})`);
    return id;
  }

  async states(jobs: string[]): Promise<Map<string, JobState>> {
    const out = new Map<string, JobState>();
    if (!jobs.length) return out;
    const r = await this.#run("squeue", ["-h", "-t", "all", "-r", "-j", jobs.join(","), "-o", "%i|%T|%r|%N"]);
    if (!r.ok) {
      if (/Invalid job id/i.test(r.stderr)) return out; // every one of them is forgotten
      throw new Error(`squeue failed: ${r.stderr}`);
    }
    for (const line of r.stdout.split("\n")) {
      const [job, state, reason, nodes] = line.trim().split("|");
      if (job && state) out.set(job, { job, state, reason: reason ?? "", nodes: nodes ?? "" });
    }
    return out;
  }

  async cancel(jobs: string[]): Promise<void> {
    if (!jobs.length) return;
    await this.#run("scancel", jobs); // jobs that already ended are not an error worth reporting
  }

  async describe(job: string): Promise<Record<string, string> | null> {
    const r = await this.#run("scontrol", ["show", "job", "-o", job]);
    if (!r.ok) return null;
    const fields: Record<string, string> = {};
    for (const m of r.stdout.matchAll(/(\w[\w/:]*)=(\S*)/g)) fields[m[1]] ??= m[2];
    return fields;
  }
}

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
  stage: string;
  key: string;
  /** The job that publishes the stage (for a sharded stage, the one that gathers the shards). */
  job: string;
  /** The job array computing the shards, for sharded stages. */
  arrayJob?: string;
  shards?: number;
  /** ISO time of submission. */
  submittedAt: string;
  /** `host:pid` of the run that submitted it. */
  submittedBy: string;
}

function recordPath(storeRoot: string, key: string): string {
  return `${storeRoot}/slurm/${key}.json`;
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

async function writeRecord(storeRoot: string, r: SlurmJobRecord): Promise<void> {
  const p = recordPath(storeRoot, r.key);
  await Deno.writeTextFile(`${p}.${Deno.pid}.tmp`, JSON.stringify(r, null, 1) + "\n");
  await Deno.rename(`${p}.${Deno.pid}.tmp`, p);
}

async function dropRecord(storeRoot: string, key: string): Promise<void> {
  await Deno.remove(recordPath(storeRoot, key)).catch(() => {});
}

/** Whether a recorded stage's jobs may still run, from the queue's states. */
function recordLive(r: SlurmJobRecord, states: Map<string, JobState>): boolean {
  const main = states.get(r.job);
  if (!main || !LIVE_STATES.has(main.state)) return false;
  // A job whose dependency failed never runs (it waits forever where Slurm does not cancel it).
  return main.reason !== "DependencyNeverSatisfied";
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
    states = await client.states(wanted.flatMap((r) => [r.job, ...(r.arrayJob ? [r.arrayJob] : [])]));
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
      state: !recordLive(r, states) ? "ended" : running ? "running" : "queued",
    });
  }
  return out;
}

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
 * One batch script: what `sbatch` is given for a stage (or for the job array of its shards).
 *
 * @example
 * ```ts
 * for (const s of executor.scripts(plan, selection)) console.log(`# ${s.stage} (${s.kind})\n${s.text}`);
 * ```
 */
export interface JobScript {
  stage: string;
  key: string;
  /** `stage`: the job that runs (or gathers and publishes) the stage; `shards`: the job array. */
  kind: "stage" | "shards";
  text: string;
}

/** A stage this run follows in the queue. */
interface Tracked {
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
  readonly name = "slurm";
  readonly #client: SlurmClient;

  constructor(readonly opts: SlurmExecutorOptions) {
    this.#client = opts.client ?? new SlurmCommands();
  }

  /**
   * The batch scripts a run would submit for `selection`, with the jobs they wait for named by
   * stage (`afterok:<obs>`): what `--dry-run --executor slurm` prints.
   */
  scripts(plan: Plan, selection: Selection): JobScript[] {
    const run = new Set(selection.run);
    const out: JobScript[] = [];
    for (const id of selection.run) {
      const p = plan.stages.get(id)!;
      const deps = inputStages(p).filter((d) => run.has(d)).map((d) => `<${d}>`);
      const shards = this.#shardCount(p);
      if (shards > 1) {
        out.push(this.#script(plan, p, selection.forced.has(id), deps, shards));
        out.push(this.#script(plan, p, selection.forced.has(id), [`<${id}/shards>`], 0));
      } else {
        out.push(this.#script(plan, p, selection.forced.has(id), deps, 0));
      }
    }
    return out;
  }

  #shardCount(p: PlannedStage): number {
    const n = p.stage.task.shards?.(p.stage.params) ?? 0;
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`stage ${p.stage.id}: task ${p.stage.task.name} reports ${n} shards`);
    }
    return n;
  }

  #script(plan: Plan, p: PlannedStage, force: boolean, deps: string[], arrayOf: number): JobScript {
    const root = plan.store.root;
    const { id } = p.stage;
    const logBase = `${root}/logs/${p.key}.${arrayOf ? "%A_%a" : "%j"}`;
    const directives = [
      `--job-name=${id}`,
      `--chdir=${this.opts.workdir}`,
      `--output=${logBase}.out`,
      `--error=${logBase}.err`,
      ...sbatchFlags(p.stage.resources),
      ...(arrayOf ? [`--array=0-${arrayOf - 1}`] : []),
      ...(deps.length ? [`--dependency=afterok:${deps.join(":")}`, "--kill-on-invalid-dep=yes"] : []),
    ];
    const { command, args } = this.opts.stageCommand(id, {
      force,
      ...(arrayOf ? { shard: ARRAY_TASK_ID } : {}),
    });
    const what = arrayOf
      ? `shard ${ARRAY_TASK_ID} of ${arrayOf} (the job that gathers them publishes the stage)`
      : p.stage.task.shards
      ? "gathers its shards and publishes the stage"
      : "runs and publishes the stage";
    const text = [
      "#!/bin/bash",
      ...directives.map((d) => `#SBATCH ${directiveValue(d)}`),
      `# Stage ${id} (task ${p.stage.task.name}), key ${p.key}: ${what}.`,
      `# Submitted by \`pipeline run --executor slurm\`; outputs go to the store ${root}.`,
      `test -f ${shellQuote(`${root}/STORE`)} || { echo "store ${
        doubleQuoted(root)
      } is not visible on $(hostname): the store must be on a filesystem every node sees" >&2; exit 1; }`,
      `exec ${[command, ...args].map(shellQuote).join(" ")}`,
      "",
    ].join("\n");
    return { stage: id, key: p.key, kind: arrayOf ? "shards" : "stage", text };
  }

  async execute(req: ExecutionRequest): Promise<Map<string, StageOutcome>> {
    const { plan, selection, onEvent, signal } = req;
    const root = plan.store.root;
    const client = this.#client;
    await Deno.mkdir(`${root}/logs`, { recursive: true });
    await Deno.mkdir(`${root}/slurm`, { recursive: true });
    const outcomes = new Map<string, StageOutcome>();
    const tracked = new Map<string, Tracked>();
    const log = (id: string, message: string) => onEvent({ type: "log", id, message });

    // Jobs left in the queue by an earlier run (detached, or whose submitter died): wait for them.
    const records = await readJobRecords(root);
    for (const [key, r] of records) {
      const p = plan.stages.get(r.stage);
      if (p?.key === key && p.status === "cached") await dropRecord(root, key);
    }
    const recorded = selection.run.map((id) => records.get(plan.stages.get(id)!.key))
      .filter((r): r is SlurmJobRecord => r !== undefined);
    let queue = new Map<string, JobState>();
    if (recorded.length) {
      queue = await client.states(recorded.flatMap((r) => [r.job, ...(r.arrayJob ? [r.arrayJob] : [])]));
    }

    // Submit in dependency order.
    for (const id of selection.run) {
      if (signal.aborted) break;
      const p = plan.stages.get(id)!;
      const rec = records.get(p.key);
      if (rec && rec.stage === id && recordLive(rec, queue)) {
        tracked.set(id, {
          id,
          p,
          job: rec.job,
          arrayJob: rec.arrayJob,
          shards: rec.shards ?? 0,
          adopted: true,
          submitted: Date.parse(rec.submittedAt) || Date.now(),
          logs: new Map(),
          failures: new Map(),
        });
        log(id, `already on slurm as job ${rec.job} (submitted ${rec.submittedAt} by ${rec.submittedBy})`);
        continue;
      }
      if (rec) {
        await client.cancel([rec.job, ...(rec.arrayJob ? [rec.arrayJob] : [])]); // a dead dependency's leftovers
        await dropRecord(root, p.key);
      }
      const inputs = inputStages(p).filter((d) => selection.run.includes(d));
      const broken = inputs.find((d) => outcomes.has(d));
      if (broken) {
        outcomes.set(id, { id, state: "skipped", seconds: 0, error: `upstream stage ${broken} failed` });
        continue;
      }
      const deps = inputs.map((d) => tracked.get(d)!.job);
      const force = selection.forced.has(id);
      const shards = this.#shardCount(p);
      try {
        let arrayJob: string | undefined;
        if (shards > 1) {
          arrayJob = await this.#submit(plan, this.#script(plan, p, force, deps, shards));
        }
        const job = await this.#submit(plan, this.#script(plan, p, force, arrayJob ? [arrayJob] : deps, 0));
        const rec: SlurmJobRecord = {
          stage: id,
          key: p.key,
          job,
          ...(arrayJob ? { arrayJob, shards } : {}),
          submittedAt: new Date().toISOString(),
          submittedBy: `${hostnameOr()}:${Deno.pid}`,
        };
        await writeRecord(root, rec);
        tracked.set(id, {
          id,
          p,
          job,
          arrayJob,
          shards: arrayJob ? shards : 0,
          adopted: false,
          submitted: Date.now(),
          logs: new Map(),
          failures: new Map(),
        });
        log(
          id,
          `submitted as slurm job ${job}${
            arrayJob ? ` (shards: job array ${arrayJob}, 0-${shards - 1})` : ""
          }${deps.length ? ` after ${deps.join(", ")}` : ""}`,
        );
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

  async #submit(plan: Plan, s: JobScript): Promise<string> {
    const path = `${plan.store.root}/slurm/${s.key}${s.kind === "shards" ? ".shards" : ""}.sh`;
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
        states = await this.#client.states(
          open().flatMap((t) => [t.job, ...(t.arrayJob ? [t.arrayJob] : [])]),
        );
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
        await this.#readLogs(t, states, onEvent, root);
        const o = await this.#judge(plan, t, states, tracked, outcomes);
        if (o) await finish(t, o);
      }
      if (open().length) await sleep(pollMs, signal);
    }
    return outcomes;
  }

  /** Follow the `.out` logs of a stage's jobs: its events drive the progress view like a local stage's. */
  async #readLogs(
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
        if (shard === null) {
          if (e.type === "start") t.started ??= Date.now();
          if (e.type === "done") {
            t.cached = e.cached;
            t.seconds = e.seconds;
          }
          onEvent(e);
          continue;
        }
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
    }
  }

  /** The outcome of a stage whose jobs ended; null while they live. */
  async #judge(
    plan: Plan,
    t: Tracked,
    states: Map<string, JobState>,
    tracked: Map<string, Tracked>,
    outcomes: Map<string, StageOutcome>,
  ): Promise<StageOutcome | null> {
    const seconds = () => t.seconds ?? (Date.now() - (t.started ?? t.submitted)) / 1000;
    // A shard that failed fails the stage (the gather job is then cancelled by Slurm).
    if (t.arrayJob) {
      for (let s = 0; s < t.shards; s++) {
        const job = `${t.arrayJob}_${s}`;
        const st = states.get(job);
        if (!st || LIVE_STATES.has(st.state) || st.state === "COMPLETED") continue;
        if (st.state === "CANCELLED" && st.reason === "DependencyNeverSatisfied") {
          return this.#upstreamSkip(t, tracked, outcomes);
        }
        await this.#client.cancel([t.job, t.arrayJob]); // the gather job, and the shards still going
        return await this.#failure(plan, t, job, st, seconds(), `shard ${s} of ${t.shards}`);
      }
    }
    const st = states.get(t.job);
    if (st && LIVE_STATES.has(st.state)) {
      if (st.reason !== "DependencyNeverSatisfied") return null;
      await this.#client.cancel([t.job]); // a cluster without kill_invalid_depend keeps it pending
      return this.#upstreamSkip(t, tracked, outcomes);
    }
    if (!st || st.state === "COMPLETED") {
      const entry = await plan.store.check(t.p.key);
      if (entry.state === "ok") return { id: t.id, state: t.cached ? "cached" : "ran", seconds: seconds() };
      const log = `${plan.store.root}/logs/${t.p.key}.${t.job}`;
      return {
        id: t.id,
        state: "failed",
        seconds: seconds(),
        error: st
          ? `slurm job ${t.job} completed but the stage's entry ${t.p.key} is not in the store ` +
            `${plan.store.root} (log ${log}.err)`
          : `slurm job ${t.job} is no longer in the queue and the stage's entry ${t.p.key} is not in the store ` +
            `(log ${log}.err)`,
        logTail: (await tailOf(`${log}.err`, this.opts.tailLines ?? 40)) ?? [],
      };
    }
    if (st.state === "CANCELLED" && st.reason === "DependencyNeverSatisfied") {
      return this.#upstreamSkip(t, tracked, outcomes);
    }
    return await this.#failure(plan, t, t.job, st, seconds(), null);
  }

  #upstreamSkip(
    t: Tracked,
    tracked: Map<string, Tracked>,
    outcomes: Map<string, StageOutcome>,
  ): StageOutcome {
    const up = inputStages(t.p).find((d) => tracked.has(d) && outcomes.get(d)?.state !== "ran");
    return {
      id: t.id,
      state: "skipped",
      seconds: 0,
      error: `slurm cancelled job ${t.job}: ${
        up ? `upstream stage ${up} failed` : "a job it depends on failed"
      }`,
    };
  }

  async #failure(
    plan: Plan,
    t: Tracked,
    job: string,
    st: JobState,
    seconds: number,
    shard: string | null,
  ): Promise<StageOutcome> {
    const log = `${plan.store.root}/logs/${t.p.key}.${job}.err`;
    const info = await this.#client.describe(job);
    const node = [st.nodes, info?.NodeList, info?.BatchHost].find((n) => n && n !== "(null)") ?? "";
    const where = `slurm job ${job}${node ? ` on ${node}` : ""}`;
    const exit = info?.ExitCode ? ` with exit code ${info.ExitCode.replace(/:0$/, "")}` : "";
    const why = t.failures.get(job) ??
      (st.state === "CANCELLED"
        ? "cancelled outside this run"
        : st.state === "TIMEOUT"
        ? "hit its time limit: raise resources.time (its checkpoints are kept)"
        : st.state === "OUT_OF_MEMORY"
        ? "ran out of memory: raise resources.memory"
        : `ended ${st.state}${exit}`);
    let error = `${shard ? `${shard}: ` : ""}${why} (${where}; log ${log})`;
    const logTail = await tailOf(log, this.opts.tailLines ?? 40);
    if (logTail === null) {
      error += `; the log was never written: is the store ${plan.store.root} visible on ${
        node || "the node"
      }? It must be on a filesystem every node sees`;
    }
    return { id: t.id, state: "failed", seconds, error, logTail: logTail ?? [] };
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
        cancel.push(t.job, ...(t.arrayJob ? [t.arrayJob] : []));
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
    const ids = mine.flatMap((t) => [t.job, ...(t.arrayJob ? [t.arrayJob] : [])]);
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

/** The stages a planned stage reads, once each. */
function inputStages(p: PlannedStage): string[] {
  return [...new Set(Object.values(p.stage.inputs).flat())];
}

function parseEvent(line: string): StageEvent | null {
  if (!line.startsWith(EVENT_MARK)) return null;
  try {
    return JSON.parse(line.slice(EVENT_MARK.length));
  } catch {
    return null;
  }
}

function hostnameOr(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The last `n` non-empty lines of a file (its last 64 kB); null when it does not exist. */
async function tailOf(path: string, n: number): Promise<string[] | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    const from = Math.max(0, size - 65536);
    await file.seek(from, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - from);
    let got = 0;
    while (got < buf.length) {
      const k = await file.read(buf.subarray(got));
      if (k === null) break;
      got += k;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, got)).split("\n").filter((l) => l.trim());
    return lines.slice(-n);
  } finally {
    file.close();
  }
}

/** Reads the lines appended to a file since the last read. */
class LogTail {
  #offset = 0;
  #partial = "";
  #decoder = new TextDecoder();
  constructor(readonly path: string) {}

  async read(): Promise<string[]> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const chunk = new Uint8Array(65536);
      let text = this.#partial;
      while (true) {
        const k = await file.read(chunk);
        if (k === null) break;
        this.#offset += k;
        text += this.#decoder.decode(chunk.subarray(0, k), { stream: true });
      }
      const lines = text.split("\n");
      this.#partial = lines.pop()!;
      return lines;
    } finally {
      file.close();
    }
  }
}
