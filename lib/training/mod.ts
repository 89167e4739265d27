/**
 * Training a denoiser by denoising score matching (docs/design.md §2): Adam with gradient clipping and
 * learning-rate schedules, an exponential moving average of the weights, the training loop whose every
 * random draw is a function of (seed, step), and the one checkpoint layout that resumes it bit for bit;
 * and the cross-entropy training of the evaluator's classifier on the same batches and layout.
 *
 * @example
 * ```ts
 * import { trainDenoiser, trainingCheckpoint } from "./mod.ts";
 * const { state } = await trainDenoiser({ net, data, schedule: veSchedule(), steps: 1000, batchSize: 256,
 *   lr: 1e-3, seed: 0, checkpointEvery: 500, onCheckpoint: (s) => save(trainingCheckpoint(s)) });
 * ```
 *
 * @module
 */
export { Adam, type AdamOptions, constantLR, EMA, linearDecayLR, type LRSchedule } from "./optim.ts";
export {
  BatchPlan,
  trainDenoiser,
  type TrainingState,
  type TrainOptions,
  type TrainResult,
} from "./train.ts";
export { type ClassifierTrainOptions, trainClassifier } from "./classifier.ts";
export { trainingCheckpoint, trainingStateFrom } from "./checkpoint.ts";
