/**
 * What a task is to the engine: a name, a version, a parameter schema, declared inputs, and a
 * `run` function that reads inputs from the store and writes outputs through a {@link StageContext}.
 *
 * Tasks never see YAML, the CLI or the store's layout; the engine never sees what a task computes.
 *
 * @module
 */
import type { z } from "zod";
import type { NDArray } from "../array.ts";
import type { ArrayInfo } from "./store/zarr.ts";

/** A declared input slot of a task. */
export interface InputSpec {
  /** What the input must provide, for `pipeline show` and error messages. */
  description: string;
  /** A list of stages (e.g. every lap's metrics) rather than one. */
  list?: boolean;
  /** The stage may run without it. */
  optional?: boolean;
}

/** Cluster resources a task asks for by default (overridable per stage in the spec). */
export interface Resources {
  cpus?: number;
  memory?: string;
  time?: string;
  gpus?: number;
  partition?: string;
  sbatch?: string[];
}

/** A task kind: what `task:` names in the spec. */
export interface TaskDef<S extends z.ZodType = z.ZodType> {
  /** Name used in the spec (`task: corrupt`). */
  name: string;
  /** Bump when the task's outputs change for the same parameters: invalidates cached entries. */
  version: number;
  /** One line for `pipeline show` and listings. */
  description: string;
  /** Parameter schema; defaults filled in here become part of the stage key. */
  params: S;
  /** Named inputs, each wired to other stages by the spec. */
  inputs: Record<string, InputSpec>;
  /** Default resources on a cluster. */
  resources?: Resources;
  /**
   * For tasks that read files outside the store (a researcher's own data): a fingerprint of
   * those files (e.g. paths, sizes and modification times), hashed into the stage key so that
   * editing the files reruns the stage. Relative paths resolve against `baseDir`.
   */
  fingerprint?(params: z.output<S>, baseDir: string): Promise<string>;
  /**
   * For tasks whose work splits into independent shards (an E-step over observations): how many,
   * from the parameters alone (a cluster executor submits them as a job array before the inputs
   * exist). Each shard runs with `ctx.shard` set and leaves its result in a checkpoint slot; a
   * final run with `ctx.shard === null` gathers them (computing any shard still missing).
   */
  shards?(params: z.output<S>): number;
  /** Compute the outputs. */
  run(ctx: StageContext<z.output<S>>): Promise<void>;
}

/** Read access to a finished (published) stage's outputs. */
export interface InputEntry {
  /** Stage id that produced it (in the current spec). */
  readonly stageId: string;
  /** The name the producing stage is declared under: its id at top level, its body name (`evaluate`) in a loop. */
  readonly name: string;
  /** The EM loop the producing stage belongs to (`em`), or null for a top-level stage. */
  readonly loop: string | null;
  /** The producing stage's lap index inside its loop, or null for a top-level stage. */
  readonly lap: number | null;
  /** The sweep values that touch the producing stage, as its id writes them (`seed=1`); "" or absent when unswept. */
  readonly member?: string;
  /** Content key of the entry. */
  readonly key: string;
  /** Task that produced it. */
  readonly task: string;
  /** Canonical parameters it was computed with. */
  readonly params: Record<string, unknown>;
  /** Names and infos of its arrays. */
  readonly arrays: Record<string, ArrayInfo>;
  /** Its metrics. */
  readonly metrics: Record<string, unknown>;
  /**
   * Its metadata ({@link StageContext.meta}): what the producing task says about its outputs (e.g.
   * `model`: what kind of prior it is), so that consumers never judge an entry by its task's name.
   */
  readonly meta: Record<string, unknown>;
  /** Read a whole array. */
  array(name: string): Promise<NDArray>;
  /** Read rows `[start, stop)` of an array. */
  rows(name: string, start: number, stop: number): Promise<NDArray>;
  /** Read a JSON document written with `writeJson`. */
  json<T = unknown>(name: string): Promise<T>;
  /** Whether an array of that name exists. */
  has(name: string): boolean;
  /** Names of the raw files it wrote with `writeFile` (figures, pages). */
  readonly files: readonly string[];
  /** Read one of its raw {@link InputEntry.files}. */
  file(name: string): Promise<Uint8Array>;
}

/** Progress reporting of one stage: a unit of work, a total, ticks. */
export interface Progress {
  /** Start (or restart) a phase of `total` units named `unit` ("step", "shard", …), `done` already done. */
  start(total: number, unit: string, done?: number, label?: string): void;
  /** `n` more units done; `info` is a short status shown beside the bar (e.g. "loss 0.12"). */
  tick(n?: number, info?: string): void;
}

/**
 * Named checkpoints of a running stage. Each slot is written atomically and survives the process:
 * a rerun of the same stage key finds them and continues. They are deleted when the stage publishes.
 */
export interface Checkpoints {
  /** Save `arrays` and `state` under `slot`, replacing what was there, atomically. */
  save(slot: string, state: Record<string, unknown>, arrays?: Record<string, NDArray>): Promise<void>;
  /** Load a slot, or null when there is none. */
  load(slot: string): Promise<{ state: Record<string, unknown>; arrays: Record<string, NDArray> } | null>;
  /** Slots saved so far. */
  list(): Promise<string[]>;
}

/** Everything a task's `run` may touch. */
export interface StageContext<P = Record<string, unknown>> {
  /** Stage id (`em[3].fit`). */
  readonly id: string;
  /** The stage's content key. */
  readonly key: string;
  /** Validated parameters with defaults. */
  readonly params: P;
  /** The stage's seed (derived from the spec seed and the stage id unless set). */
  readonly seed: number;
  /**
   * Set when this process computes one shard only (see {@link TaskDef.shards}): the task computes
   * that shard into its checkpoint slot and returns; nothing is published.
   */
  readonly shard: number | null;
  /** EM lap index for stages inside a loop, else null. */
  readonly lap: number | null;
  /** Name of the EM loop for stages inside one, else null. */
  readonly loop: string | null;
  /** Numerical backend asked for in the spec (`auto`, `wasm`, `webgpu`, `cpu`). */
  readonly backend: string;
  /** Directory that relative paths in parameters resolve against (the spec file's). */
  readonly baseDir: string;
  /** Cancelled when the run is interrupted. */
  readonly signal: AbortSignal;
  /** The single stage wired to input `name` (throws if unwired and not optional). */
  input(name: string): InputEntry;
  /** The single stage wired to optional input `name`, or null. */
  optionalInput(name: string): InputEntry | null;
  /** The stages wired to list input `name`, in spec order. */
  inputList(name: string): InputEntry[];
  /** Write an output array. */
  writeArray(name: string, array: NDArray, attributes?: Record<string, unknown>): Promise<void>;
  /** Write an output JSON document. */
  writeJson(name: string, value: unknown): Promise<void>;
  /** Write an output file (a picture, an HTML report) as raw bytes. */
  writeFile(name: string, bytes: Uint8Array): Promise<void>;
  /** Record metrics (numbers, or small JSON values); merged across calls. */
  metrics(values: Record<string, unknown>): void;
  /** Record run metadata (backend and adapter, CG residuals, …); merged across calls. */
  meta(values: Record<string, unknown>): void;
  /** Progress reporting. */
  readonly progress: Progress;
  /** Resumable checkpoints. */
  readonly checkpoints: Checkpoints;
  /** A line of log for the user. */
  log(message: string): void;
}
