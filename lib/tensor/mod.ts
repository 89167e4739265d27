/**
 * TensorFlow.js in Deno: backend selection (`auto | webgpu | wasm | cpu`) with the patched wasm kernels,
 * host ↔ device copies, and a pool of Workers that runs typed jobs on every core. Gradients have their own
 * entry, `gradients.ts`: whatever differentiates imports it, which registers TF.js's gradient definitions.
 *
 * @example
 * ```ts
 * import { initBackend, runShards } from "./mod.ts";
 * const info = await initBackend("auto");
 * const out = await runShards(workerJobs.samplePosteriorShard, shards, { backend: info.backend });
 * ```
 *
 * @module
 */
export {
  type BackendChoice,
  type BackendInfo,
  backendInfo,
  fromHost,
  initBackend,
  probeGpuAdapter,
  tf,
  toHost,
} from "./backend.ts";
export {
  defineWorkerJobs,
  type PoolOptions,
  type RunOptions,
  runShards,
  type ShardContext,
  ShardError,
  type ShardFunction,
  splitRows,
  type WorkerJob,
  WorkerPool,
} from "./pool.ts";
