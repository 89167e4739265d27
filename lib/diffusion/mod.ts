/**
 * The diffusion model shared by both methods (docs/design.md §2): the variance-exploding noise schedule,
 * EDM preconditioning of a network into a denoiser, the denoising score matching loss, and the samplers
 * (DDPM, DDIM, predictor–corrector), each a short function of (denoiser, x, sigmas). Row-stream sampling
 * ({@link sampleRows}) makes results independent of how rows are split into shards and batches.
 *
 * @example
 * ```ts
 * import { edmDenoiser, sampleRows } from "./mod.ts";
 * const x = await sampleRows(edmDenoiser(net), { sampler: "ddpm", steps: 64, seed: 1, first: 0, count: 1024,
 *   eventShape: [5], sigmaMin: 1e-3, sigmaMax: 10, batchSize: 1024 });
 * ```
 *
 * @module
 */
export type { Denoiser } from "./types.ts";
export { edmDenoiser, type EDMOptions, perRow } from "./denoiser.ts";
export { drawTrainingNoise, dsmLoss } from "./loss.ts";
export { sigmaAt, sigmaGrid, type VESchedule, veSchedule } from "./schedule.ts";
export {
  initialSample,
  type OnStep,
  type PCOptions,
  sampleDDIM,
  sampleDDPM,
  samplePC,
  type SamplerName,
  type SamplerOptions,
  SAMPLERS,
} from "./samplers.ts";
export { type SampleJob, sampleRows } from "./sharded.ts";
