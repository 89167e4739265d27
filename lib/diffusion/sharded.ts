/**
 * Sampling a denoiser in batches (Worker shards: see `lib/sampling/posterior_shard.ts`).
 *
 * Row r of a sampling job always draws its noise from `Rng.fromSeed(seed, "row", r)` (see {@link RowStreams}),
 * so the samples are the same whatever the batch size and however the rows are split into shards.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { RowStreams } from "../random.ts";
import { type NDArray, numel } from "../array.ts";
import { initialSample, type SamplerName, SAMPLERS } from "./samplers.ts";
import { sigmaGrid, veSchedule } from "./schedule.ts";
import type { Denoiser } from "./types.ts";

/** What to sample: rows `[first, first + count)` of a job seeded by `seed`. */
export interface SampleJob {
  sampler: SamplerName;
  /** Sampler steps (grid of steps + 1 noise levels). */
  steps: number;
  sigmaMin?: number;
  sigmaMax?: number;
  seed: number;
  first: number;
  count: number;
  /** Shape of one sample. */
  eventShape: number[];
  /** Rows per batch on the device (default 8192): bounds memory, does not change the samples. */
  batchSize?: number;
  /** Starting mean μ (flattened event), default 0. */
  mean?: Float32Array;
  /** Predictor–corrector corrections per step (default 1). */
  corrections?: number;
}

/**
 * Sample rows `[first, first + count)` with `denoiser`, `batchSize` rows at a time. Returns `[count, ...event]`.
 *
 * @example
 * ```ts
 * const x = await sampleRows(edmDenoiser(net), { sampler: "ddpm", steps: 64, seed: 1, first: 0, count: 65536,
 *   eventShape: [5] }, (done) => console.log(done));
 * ```
 */
export async function sampleRows(
  denoiser: Denoiser,
  job: SampleJob,
  onProgress?: (rowsDone: number, rowsTotal: number) => void,
): Promise<NDArray<Float32Array>> {
  const size = numel(job.eventShape);
  const out = new Float32Array(job.count * size);
  const sigmas = sigmaGrid(veSchedule(job.sigmaMin ?? 1e-3, job.sigmaMax ?? 10), job.steps);
  const batch = job.batchSize ?? 8192;
  const sampler = SAMPLERS[job.sampler];
  if (!sampler) throw new Error(`unknown sampler ${job.sampler}`);
  for (let start = 0; start < job.count; start += batch) {
    const n = Math.min(batch, job.count - start);
    const rows = new RowStreams(job.seed, job.first + start, n);
    const x = initialSample(rows, [n, ...job.eventShape], sigmas[0], job.mean);
    // Progress within the batch too (a batch of MMPS steps can take minutes): ~20 reports per batch.
    const every = Math.max(1, Math.floor(job.steps / 20));
    const onStep = (step: number, total: number) => {
      if (step % every === 0 || step === total) onProgress?.(start + (n * step) / total, job.count);
    };
    const y = sampler(denoiser, x, sigmas, rows, { corrections: job.corrections, onStep });
    out.set((await y.data()) as Float32Array, start * size);
    tf.dispose([x, y]);
  }
  return { shape: [job.count, ...job.eventShape], data: out };
}
