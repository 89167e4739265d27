/**
 * Sample one shard of observations: x_i ~ q(x | y_i) with MMPS wrapped around a prior's denoiser,
 * or x ~ q(x) (no observations: unconditional samples of the prior). Written as a plain function of
 * plain data so that it runs the same in this thread or in a Worker ({@link WorkerPool}).
 *
 * Row i of the computation draws every random number it needs from its own stream
 * (`RowStreams(seed, firstRow + i)`), so the result does not depend on how rows are split into
 * shards or batches.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { initialSample, type SamplerName, SAMPLERS } from "../diffusion/samplers.ts";
import { sigmaGrid, veSchedule } from "../diffusion/schedule.ts";
import { operatorFamily } from "../operators/mod.ts";
import type { OperatorParams } from "../operators/types.ts";
import { RowStreams } from "../random.ts";
import type { NDArray } from "../store/zarr.ts";
import type { ShardContext } from "../tensor/pool.ts";
import { toHost } from "../tensor/backend.ts";
import { matrix } from "../linalg/dense.ts";
import { cgStatsCollector, type CovarianceKind, mmpsDenoiser } from "./mmps.ts";
import { loadPrior, type PriorModel } from "./prior.ts";

/** Everything one shard needs, as structured-cloneable data. */
export interface PosteriorShardInput {
  prior: PriorModel;
  /** VE schedule bounds σ(0), σ(1). */
  sigmaMin: number;
  sigmaMax: number;
  /** Observations of this shard, or null for unconditional samples (then `rows` says how many). */
  observations: {
    kind: string;
    config: Record<string, unknown>;
    params: OperatorParams;
    y: NDArray;
    sigmaY: number;
  } | null;
  /** Rows to sample when `observations` is null. */
  rows?: number;
  /** Event shape of x. */
  xShape: number[];
  seed: number;
  /** Global index of this shard's first row (for the row streams). */
  firstRow: number;
  sampler: SamplerName;
  steps: number;
  corrections?: number;
  covariance: CovarianceKind;
  /** Prior covariance for `cov_x` (D × D). */
  priorCov?: NDArray;
  cgMaxiter?: number;
  cgRtol?: number;
  /** Rows per TF batch inside the shard (bounds memory). */
  batchSize: number;
  /** Start from the prior mean instead of 0 (known for a Gaussian prior). */
  startMean?: NDArray;
}

/** A finished shard. */
export interface PosteriorShardOutput {
  x: NDArray<Float32Array>;
  /** CG statistics of the MMPS solves (null without observations or with `cgEarlyExit` off). */
  cg: ReturnType<ReturnType<typeof cgStatsCollector>["summary"]> | null;
}

/**
 * Sample a shard. Progress reports `{ rows }`: (fractional) rows done since the last report.
 *
 * @example
 * ```ts
 * const { x } = await samplePosteriorShard({ prior, sigmaMin: 1e-3, sigmaMax: 10, observations, xShape: [5],
 *   seed: 1, firstRow: 0, sampler: "ddpm", steps: 64, covariance: "mmps", batchSize: 1024 });
 * ```
 */
export async function samplePosteriorShard(
  input: PosteriorShardInput,
  ctx?: Pick<ShardContext, "progress" | "backend">,
): Promise<PosteriorShardOutput> {
  const obs = input.observations;
  const n = obs ? obs.y.shape[0] : input.rows ?? 0;
  const d = input.xShape.reduce((a, b) => a * b, 1);
  const sigmas = sigmaGrid(veSchedule(input.sigmaMin, input.sigmaMax), input.steps);
  const family = obs ? operatorFamily(obs.kind, obs.config) : null;
  const prior = loadPrior(input.prior);
  const stats = obs ? cgStatsCollector() : null;
  // Synchronous reads (CG early exit) are unavailable on WebGPU in Deno.
  const earlyExit = ctx?.backend?.backend !== "webgpu";
  const out = new Float32Array(n * d);
  try {
    for (let start = 0; start < n; start += input.batchSize) {
      const stop = Math.min(n, start + input.batchSize), b = stop - start;
      const rows = new RowStreams(input.seed, input.firstRow + start, b);
      const mean = input.startMean
        ? tf.tensor(Float32Array.from(input.startMean.data), [1, ...input.xShape])
        : undefined;
      const x0 = initialSample(rows, [b, ...input.xShape], sigmas[0], mean);
      mean?.dispose();
      let denoiser = prior.denoiser;
      let bound: { dispose(): void } | null = null,
        yT: tf.Tensor | null = null,
        mmps: { dispose(): void } | null = null;
      if (obs && family) {
        const op = family.bind(family.sliceParams(obs.params, start, stop));
        bound = op;
        const w = obs.y.data.length / obs.y.shape[0];
        yT = tf.tensor(Float32Array.from(obs.y.data.subarray(start * w, stop * w)), [
          b,
          ...obs.y.shape.slice(1),
        ]);
        const m = mmpsDenoiser(prior.denoiser, op, yT, obs.sigmaY, {
          covariance: input.covariance,
          priorCov: input.priorCov ? matrix(d, d, Float64Array.from(input.priorCov.data)) : undefined,
          cgMaxiter: input.cgMaxiter,
          cgRtol: input.cgRtol,
          cgEarlyExit: earlyExit,
          onCG: earlyExit ? stats!.onCG : undefined,
        });
        mmps = m;
        denoiser = m;
      }
      // Progress in rows: each sampler step is 1/(steps + 1) of the batch; reported ~20 times.
      const every = Math.max(1, Math.floor(input.steps / 20));
      let reported = 0;
      const onStep = (step: number, total: number) => {
        if (step % every !== 0 && step !== total) return;
        ctx?.progress({ rows: (b * step) / total - reported });
        reported = (b * step) / total;
      };
      const x = SAMPLERS[input.sampler](denoiser, x0, sigmas, rows, {
        corrections: input.corrections,
        onStep,
      });
      x0.dispose();
      const host = await toHost(x);
      x.dispose();
      out.set(host.data, start * d);
      mmps?.dispose();
      bound?.dispose();
      yT?.dispose();
    }
  } finally {
    prior.dispose();
  }
  return { x: { shape: [n, ...input.xShape], data: out }, cg: stats && earlyExit ? stats.summary() : null };
}
