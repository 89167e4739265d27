/**
 * TensorFlow.js in Deno: backend selection (`auto | webgpu | wasm | cpu`) with the patched wasm kernels,
 * and a pool of Workers that runs typed jobs on every core. Gradients have their own
 * entry, `gradients.ts`: whatever differentiates imports it, which registers TF.js's gradient definitions.
 *
 * @example
 * ```ts
 * import { initBackend, WorkerPool } from "./mod.ts";
 * const info = await initBackend("auto");
 * const pool = new WorkerPool({ workers: 2, backend: info.backend });
 * const out = await pool.run(workerJobs.samplePosteriorShard, shards);
 * pool.close();
 * ```
 *
 * @module
 */
export {
  type BackendChoice,
  type BackendInfo,
  initBackend,
  probeGpuAdapter,
  setBlasThreads,
  tf,
} from "./backend.ts";
export { fusedGroupNorm } from "./_group_norm.ts";
export { fusedGatedResidual } from "./_gated_residual.ts";
export { fusedSiluLayerNorm } from "./_layer_norm.ts";
export { fusedLinear } from "./_linear.ts";
export { type AdamStepScalars, fusedAdamStep } from "./_adam.ts";
export { fusedSinusoidalEmbedding } from "./_embedding.ts";
export {
  blasThreadsPerWorker,
  defineWorkerJobs,
  type PoolOptions,
  type RunOptions,
  type ShardContext,
  ShardError,
  type ShardFunction,
  splitRows,
  type WorkerJob,
  WorkerPool,
} from "./pool.ts";
