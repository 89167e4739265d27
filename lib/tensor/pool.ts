/**
 * Run shards of embarrassingly parallel work (sampling, evaluation) in Workers, one per core by default.
 *
 * TF.js's wasm backend runs one thread in Deno; each Worker initialises its own single-threaded backend, so two
 * Workers on two cores do about twice the work of one. A shard is a call `fn(input, ctx)` of a
 * {@link WorkerJob}: a function a module declares with {@link defineWorkerJobs} and exports as `workerJobs`, so
 * that a Worker can import the module and find it. The caller holds the typed handle, never a name.
 * Results come back in input order; an error in any shard rejects with the Worker's message and stack, and all
 * Workers are terminated.
 *
 * Float32Array (and other typed array) buffers in results are transferred, not copied. Inputs are copied
 * unless `transferInputs` is set (transferring detaches the caller's arrays).
 *
 * @module
 */
import type { BackendChoice, BackendInfo } from "./backend.ts";

/** What a shard function receives besides its input. */
export interface ShardContext {
  /** Index of the shard in the input list. */
  shard: number;
  /** The Worker's backend. */
  backend: BackendInfo;
  /** Report progress (any structured-cloneable value) to the caller's `onProgress`. */
  progress(value: unknown): void;
}

/** A function that can run as a shard. */
export type ShardFunction<I, O> = (input: I, ctx: ShardContext) => O | Promise<O>;

/** A function Workers can run: its module, its key in that module's `workerJobs`, and the function itself. */
export interface WorkerJob<I, O> {
  readonly module: string;
  readonly name: string;
  readonly run: ShardFunction<I, O>;
}

// deno-lint-ignore no-explicit-any
type AnyShardFunction = ShardFunction<any, any>;

/** The typed handles of a module's jobs. */
export type WorkerJobs<T extends Record<string, AnyShardFunction>> = {
  readonly [K in keyof T]: WorkerJob<Parameters<T[K]>[0], Awaited<ReturnType<T[K]>>>;
};

/**
 * Declare the functions a module offers to Workers. The module must export the result as `workerJobs`
 * (the Worker imports the module and looks the job up there); callers pass the handles to
 * {@link WorkerPool.run}, typed by the functions.
 *
 * @example
 * ```ts
 * // shard_fns.ts
 * export const workerJobs = defineWorkerJobs(import.meta.url, {
 *   sum: (x: Float32Array) => x.reduce((a, b) => a + b, 0),
 * });
 * // caller
 * const sums: number[] = await new WorkerPool({ workers: 2 }).run(workerJobs.sum, [a, b]);
 * ```
 */
export function defineWorkerJobs<T extends Record<string, AnyShardFunction>>(
  moduleUrl: string,
  fns: T,
): WorkerJobs<T> {
  return Object.fromEntries(
    Object.entries(fns).map(([name, run]) => [name, { module: moduleUrl, name, run }]),
  ) as unknown as WorkerJobs<T>;
}

/**
 * The job `name` of a module imported in a Worker (see {@link defineWorkerJobs}).
 *
 * @example
 * ```ts
 * const job = jobOf(await import(url), url, "sum");
 * ```
 */
export function jobOf(
  mod: Record<string, unknown>,
  module: string,
  name: string,
): WorkerJob<unknown, unknown> {
  const registry = mod.workerJobs as Record<string, WorkerJob<unknown, unknown>> | undefined;
  const job = registry?.[name];
  if (!job || typeof job.run !== "function") throw new Error(`${module} declares no worker job ${name}`);
  return job;
}

/** Options of a {@link WorkerPool}. */
export interface PoolOptions {
  /** Number of Workers (default `navigator.hardwareConcurrency`); 0 runs the shards in this thread. */
  workers?: number;
  /** Backend each Worker initialises (default `wasm`). */
  backend?: BackendChoice;
}

/** Per-run options. */
export interface RunOptions {
  /** Progress reported by shards, with the shard index. */
  onProgress?: (shard: number, value: unknown) => void;
  /** Transfer typed-array buffers of inputs to the Workers instead of copying them. */
  transferInputs?: boolean;
}

type FromWorker =
  | { type: "ready"; backend: BackendInfo }
  | { type: "progress"; shard: number; value: unknown }
  | { type: "result"; shard: number; output: unknown }
  | { type: "error"; shard: number; message: string; stack?: string };

/**
 * Buffers of whole-buffer typed arrays reachable in `value` (views of part of a buffer are copied instead).
 *
 * @example
 * ```ts
 * postMessage(result, { transfer: transferables(result) });
 * ```
 */
export function transferables(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (value === null || typeof value !== "object" || depth > 6) return out;
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (
      b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength &&
      !out.includes(b)
    ) {
      out.push(b);
    }
    return out;
  }
  if (Array.isArray(value)) { for (const v of value) transferables(v, out, depth + 1); }
  else for (const v of Object.values(value as Record<string, unknown>)) transferables(v, out, depth + 1);
  return out;
}

/**
 * An error raised in a Worker, carrying its stack.
 *
 * @example
 * ```ts
 * try { await pool.run(workerJobs.f, inputs); } catch (e) { if (e instanceof ShardError) console.error(e.shard); }
 * ```
 */
export class ShardError extends Error {
  constructor(readonly shard: number, message: string, readonly workerStack?: string) {
    super(`shard ${shard}: ${message}${workerStack ? `\n--- worker stack ---\n${workerStack}` : ""}`);
    this.name = "ShardError";
  }
}

/**
 * BLAS threads each of `workers` Workers uses: the cores shared among them, at least 1 (Workers
 * that run side by side must not oversubscribe the cores).
 *
 * @example
 * ```ts
 * blasThreadsPerWorker(2); // 1 on a 2-core machine, 4 on an 8-core one
 * ```
 */
export function blasThreadsPerWorker(workers: number): number {
  return Math.max(1, Math.floor((navigator.hardwareConcurrency ?? 1) / Math.max(1, workers)));
}

/**
 * A reusable set of Workers. Create once, `run` several batches of shards, then `close`.
 *
 * @example
 * ```ts
 * const pool = new WorkerPool({ workers: 2 });
 * const out = await pool.run(workerJobs.samplePosteriorShard, shards);
 * pool.close();
 * ```
 */
export class WorkerPool {
  readonly size: number;
  readonly #backend: BackendChoice;
  #workers: Worker[] = [];
  #ready: Promise<BackendInfo>[] = [];
  #busy = false;

  constructor(opts: PoolOptions = {}) {
    this.size = opts.workers ?? navigator.hardwareConcurrency ?? 1;
    this.#backend = opts.backend ?? "wasm";
  }

  #start(): void {
    if (this.#workers.length || this.size === 0) return;
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL("./pool_worker.ts", import.meta.url), { type: "module" });
      this.#workers.push(w);
      this.#ready.push(
        new Promise((resolve, reject) => {
          w.onmessage = (e: MessageEvent<FromWorker>) => {
            if (e.data.type === "ready") resolve(e.data.backend);
            else if (e.data.type === "error") reject(new ShardError(-1, e.data.message, e.data.stack));
          };
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`worker failed to start: ${e.message}`));
          };
        }),
      );
      w.postMessage({ type: "init", backend: this.#backend, blasThreads: blasThreadsPerWorker(this.size) });
    }
  }

  /**
   * Run `job` on every input, spread over the Workers; results in input order.
   */
  async run<I, O>(job: WorkerJob<I, O>, inputs: I[], opts: RunOptions = {}): Promise<O[]> {
    if (this.#busy) throw new Error("WorkerPool.run: already running (one run at a time)");
    this.#busy = true;
    try {
      if (this.size === 0) return await this.#runHere<I, O>(job, inputs, opts);
      this.#start();
      await Promise.all(this.#ready);
      return await this.#dispatch<I, O>(job, inputs, opts);
    } catch (e) {
      // A failed run leaves Workers in an unknown state: start fresh next time.
      this.close();
      throw e;
    } finally {
      this.#busy = false;
    }
  }

  async #runHere<I, O>(job: WorkerJob<I, O>, inputs: I[], opts: RunOptions): Promise<O[]> {
    const { initBackend } = await import("./backend.ts");
    const backend = await initBackend(this.#backend);
    const out: O[] = [];
    for (let shard = 0; shard < inputs.length; shard++) {
      out.push(
        await job.run(inputs[shard], { shard, backend, progress: (v) => opts.onProgress?.(shard, v) }),
      );
    }
    return out;
  }

  #dispatch<I, O>(job: WorkerJob<I, O>, inputs: I[], opts: RunOptions): Promise<O[]> {
    return new Promise((resolve, reject) => {
      const results = new Array<O>(inputs.length);
      let next = 0, done = 0, failed = false;
      const feed = (w: Worker) => {
        if (failed || next >= inputs.length) return;
        const shard = next++;
        const input = inputs[shard];
        w.postMessage(
          { type: "run", shard, module: job.module, name: job.name, input },
          opts.transferInputs ? transferables(input) : [],
        );
      };
      if (inputs.length === 0) return resolve([]);
      for (const w of this.#workers) {
        w.onmessage = (e: MessageEvent<FromWorker>) => {
          const m = e.data;
          if (failed) return;
          if (m.type === "progress") opts.onProgress?.(m.shard, m.value);
          else if (m.type === "result") {
            results[m.shard] = m.output as O;
            if (++done === inputs.length) resolve(results);
            else feed(w);
          } else if (m.type === "error") {
            failed = true;
            reject(new ShardError(m.shard, m.message, m.stack));
          }
        };
        w.onerror = (e) => {
          e.preventDefault();
          failed = true;
          reject(new Error(`worker crashed: ${e.message}`));
        };
        feed(w);
      }
    });
  }

  /** Terminate the Workers (a later `run` starts new ones). */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#ready = [];
  }
}

/**
 * Split `n` rows into `parts` contiguous ranges of near-equal size: `[start, stop)` pairs.
 *
 * @example
 * ```ts
 * splitRows(10, 3); // [[0, 4], [4, 7], [7, 10]]
 * ```
 */
export function splitRows(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  const k = Math.max(1, Math.min(parts, n));
  for (let i = 0; i < k; i++) out.push([Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
  return out;
}
