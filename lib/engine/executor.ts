/**
 * Executors: how the selected stages of a plan get run. The local executor runs each stage as
 * `pipeline exec ID` in a fresh subprocess (so a stage that crashes takes nothing else down, and
 * so that a cluster executor can launch exactly the same command), up to `jobs` at a time, in
 * dependency order.
 *
 * @module
 */
import type { Plan, Selection } from "./plan.ts";
import type { StageEvent } from "./stage.ts";

/**
 * Prefix of the machine-readable event lines a stage process writes to stdout.
 *
 * @example
 * ```ts
 * console.log(EVENT_MARK + JSON.stringify({ type: "log", id: "obs", message: "hello" }));
 * ```
 */
export const EVENT_MARK = "\u001e";

/**
 * How one stage ended. `submitted`: handed to a cluster scheduler and left there (a detached
 * run); the stage is queued or running and publishes into the store when its job ends.
 */
export interface StageOutcome {
  id: string;
  state: "ran" | "cached" | "failed" | "skipped" | "cancelled" | "submitted";
  seconds: number;
  error?: string;
  /**
   * Last lines the stage wrote to stderr (for failures), less the message that `error` already says
   * when the stage ended by printing it alone (see {@link tailBeyond}).
   */
  logTail?: string[];
  /** The scheduler's job id, for stages run as cluster jobs. */
  job?: string;
}

/** What an executor is given. */
export interface ExecutionRequest {
  plan: Plan;
  selection: Selection;
  onEvent: (e: StageEvent) => void;
  signal: AbortSignal;
}

/** Runs the selected stages of a plan; a cluster executor implements the same interface. */
export interface Executor {
  readonly name: string;
  execute(req: ExecutionRequest): Promise<Map<string, StageOutcome>>;
}

/**
 * The command that runs one stage in a fresh process. `shard`, when given, is the argument that
 * names the one shard to compute (a cluster executor passes a shell word such as
 * `$SLURM_ARRAY_TASK_ID` for the elements of a job array).
 */
export type StageCommand = (
  id: string,
  opts: { force: boolean; shard?: string },
) => { command: string; args: string[] };

/**
 * Runs stages as local subprocesses, at most `jobs` at once.
 *
 * @example
 * ```ts
 * const ex = new LocalExecutor({ jobs: 2, stageCommand: (id) => ({ command: Deno.execPath(), args: ["run", "-A", "cli.ts", "exec", id] }) });
 * ```
 */
export class LocalExecutor implements Executor {
  readonly name = "local";
  constructor(readonly opts: { jobs: number; stageCommand: StageCommand }) {}

  async execute(req: ExecutionRequest): Promise<Map<string, StageOutcome>> {
    const { plan, selection, onEvent, signal } = req;
    const outcomes = new Map<string, StageOutcome>();
    const toRun = new Set(selection.run);
    const pending = [...selection.run];
    const running = new Map<string, Promise<void>>();
    const blocked = (id: string): "wait" | "ready" | "skip" => {
      for (const deps of Object.values(plan.graph.stages.get(id)!.inputs)) {
        for (const d of deps) {
          if (!toRun.has(d)) continue; // cached: its entry is in the store
          const o = outcomes.get(d);
          if (!o) return "wait";
          if (o.state !== "ran" && o.state !== "cached") return "skip";
        }
      }
      return "ready";
    };
    while (pending.length || running.size) {
      if (signal.aborted) {
        await Promise.all(running.values());
        for (const id of pending) outcomes.set(id, { id, state: "cancelled", seconds: 0 });
        pending.length = 0;
        break;
      }
      let launched = false;
      for (let i = 0; i < pending.length && running.size < this.opts.jobs; i++) {
        const id = pending[i];
        const b = blocked(id);
        if (b === "wait") continue;
        pending.splice(i--, 1);
        if (b === "skip") {
          outcomes.set(id, { id, state: "skipped", seconds: 0, error: "an upstream stage failed" });
          continue;
        }
        launched = true;
        const p = this.#runOne(id, selection.forced.has(id), onEvent, signal).then((o) => {
          outcomes.set(id, o);
          running.delete(id);
        });
        running.set(id, p);
      }
      if (!launched && running.size) await Promise.race([...running.values(), abortPromise(signal)]);
      else if (!launched && pending.length && running.size === 0) {
        // Everything left waits on something that will never finish: cannot happen with a DAG.
        for (const id of pending) {
          outcomes.set(id, { id, state: "skipped", seconds: 0, error: "unreachable" });
        }
        break;
      }
    }
    return outcomes;
  }

  async #runOne(
    id: string,
    force: boolean,
    onEvent: (e: StageEvent) => void,
    signal: AbortSignal,
  ): Promise<StageOutcome> {
    const t0 = performance.now();
    const { command, args } = this.opts.stageCommand(id, { force });
    const child = new Deno.Command(command, { args, stdout: "piped", stderr: "piped", stdin: "null" })
      .spawn();
    const kill = () => {
      try {
        child.kill("SIGTERM");
      } catch { /* exited */ }
    };
    signal.addEventListener("abort", kill);
    const tail: string[] = [];
    let failure: string | undefined;
    let cached = false;
    const out = readLines(child.stdout, (line) => {
      if (line.startsWith(EVENT_MARK)) {
        let e: StageEvent;
        try {
          e = JSON.parse(line.slice(1));
        } catch {
          return;
        }
        if (e.type === "failed") failure = e.error;
        if (e.type === "done") cached = e.cached;
        onEvent(e);
      } else if (line.trim()) {
        onEvent({ type: "log", id, message: line });
      }
    });
    const err = readLines(child.stderr, (line) => {
      if (!line.trim()) return;
      tail.push(line);
      if (tail.length > 40) tail.shift();
    });
    const status = await child.status;
    await Promise.all([out, err]);
    signal.removeEventListener("abort", kill);
    const seconds = (performance.now() - t0) / 1000;
    if (status.success) return { id, state: cached ? "cached" : "ran", seconds };
    if (signal.aborted) return { id, state: "cancelled", seconds };
    return {
      id,
      state: "failed",
      seconds,
      error: failure ??
        `stage process exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`,
      logTail: tailBeyond(tail, failure),
    };
  }
}

/**
 * A failed stage's stderr tail without the error message it ended with, when it ended by printing
 * that message alone (a failure the user can fix, a `StageMismatchError`): the outcome's `error`
 * already says it, and what came before (progress, warnings) stays. A bug's tail ends with its stack
 * trace instead, and is kept whole.
 *
 * @example
 * ```ts
 * tailBeyond(["reading y", "rank 9 must be below D = 4"], "rank 9 must be below D = 4"); // ["reading y"]
 * tailBeyond(["Error: boom", "    at f (file:///t.ts:1:7)"], "boom"); // both lines: a bug's stack
 * ```
 */
export function tailBeyond(tail: string[], error: string | undefined): string[] {
  // The tail holds non-empty lines only (as read from the stage's stderr).
  const said = (error ?? "").split("\n").filter((line) => line.trim());
  if (!said.length || said.length > tail.length) return tail;
  const end = tail.slice(-said.length);
  return end.every((line, i) => line.trim() === said[i].trim()) ? tail.slice(0, -said.length) : tail;
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** Call `onLine` for every line of a byte stream. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  buf += decoder.decode();
  if (buf) onLine(buf);
}
