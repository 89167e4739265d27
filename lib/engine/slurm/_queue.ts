/**
 * The Slurm queue client: how the executor submits, asks after and cancels jobs (`sbatch`,
 * `squeue`, `scontrol`, `scancel`; no `sacct`), and what it reads from the answers.
 *
 * @module
 */

/** Job states in which a job may still run (or is running). */
export const LIVE_STATES: ReadonlySet<string> = new Set([
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
  /** Clients that run with `opts.env` added to the environment (e.g. another `SLURM_CONF`). */
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
 * The job ids that stand for a stage: the job that publishes it, and the job array of its shards
 * if it has one (cancelling or asking after the array id covers every element).
 *
 * @example
 * ```ts
 * jobIds({ job: "12", arrayJob: "11" }); // ["12", "11"]
 * jobIds({ job: "12" }); // ["12"]
 * ```
 */
export function jobIds(jobs: { job: string; arrayJob?: string }): string[] {
  return [jobs.job, ...(jobs.arrayJob ? [jobs.arrayJob] : [])];
}

/**
 * Whether a stage's publishing job may still run, from the queue's states.
 *
 * @example
 * ```ts
 * if (!jobLive(record, await client.states(jobIds(record)))) await dropRecord(root, record.key);
 * ```
 */
export function jobLive(jobs: { job: string }, states: Map<string, JobState>): boolean {
  const main = states.get(jobs.job);
  if (!main || !LIVE_STATES.has(main.state)) return false;
  // A job whose dependency failed never runs (it waits forever where Slurm does not cancel it).
  return main.reason !== "DependencyNeverSatisfied";
}

/**
 * Sleep `ms` milliseconds between two questions to the queue; an abort ends the wait early.
 *
 * @example
 * ```ts
 * await sleep(1000, signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
