/**
 * Sampling wired together: a prior as plain data ({@link PriorModel}: Gaussian, network or conditional
 * network) and the denoiser it defines, and one shard of posterior (or prior) samples — MMPS around a
 * prior (DiEM), a conditional model bound to its conditions (DiffEM), or the prior alone — as a Worker job.
 *
 * @example
 * ```ts
 * import { workerJobs } from "./mod.ts";
 * const pool = new WorkerPool({ workers: 2 });
 * const [shard] = await pool.run(workerJobs.samplePosteriorShard, [input]);
 * ```
 *
 * @module
 */
export { type LoadedPrior, loadPrior, type PriorModel } from "./prior.ts";
export {
  type PosteriorShardInput,
  type PosteriorShardOutput,
  samplePosteriorShard,
  workerJobs,
} from "./posterior_shard.ts";
