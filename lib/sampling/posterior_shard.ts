/**
 * Sample one shard of observations: x_i ~ q(x | y_i) with MMPS wrapped around a prior's denoiser
 * (DiEM), or with a conditional model's own denoiser bound to c_i = encode(y_i, A_i) and no
 * guidance at all (DiffEM), or x ~ q(x) (no observations: unconditional samples of the prior).
 * Written as a plain function of plain data so that it runs the same in this thread or in a Worker
 * ({@link WorkerPool}).
 *
 * Row i of the computation draws every random number it needs from its own stream
 * (`RowStreams(seed, firstRow + i)`), so the result does not depend on how rows are split into
 * shards or batches.
 *
 * @module
 */
import { type Denoiser, type SamplerName, sampleRows } from "../diffusion/mod.ts";
import { type OperatorFamily, operatorFamily, type OperatorParams } from "../operators/mod.ts";
import { type NDArray, numel, sliceRows } from "../array.ts";
import { defineWorkerJobs, type ShardContext, tf } from "../tensor/mod.ts";
import { matrix } from "../linalg/mod.ts";
import { checkConditionEncoding, encodeCondition } from "../diffem/mod.ts";
import {
  type CovarianceKind,
  mmpsDenoiser,
  type MMPSSolver,
  type SolveStats,
  solveStatsCollector,
  type SolveSummary,
} from "../guidance/mod.ts";
import { type LoadedPrior, loadPrior, type PriorModel } from "./prior.ts";

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
  /** Σ_x for `cov_x` (D × D): the prior's covariance, or a Gaussian fit's with any prior. */
  covX?: NDArray;
  /** Linear solver of MMPS: exact (small m), conjugate gradient, minimal residual iteration, or auto. */
  solver?: MMPSSolver;
  /** Largest m for which `auto` takes the exact path. */
  exactMax?: number;
  /** Solver iterations per denoiser call. */
  solverMaxiter?: number;
  /** Solver relative tolerance per row. */
  solverRtol?: number;
  /** Rows per TF batch inside the shard (bounds memory). */
  batchSize: number;
  /** Start from the prior mean instead of 0 (known for a Gaussian prior). */
  startMean?: NDArray;
}

/** A finished shard. */
export interface PosteriorShardOutput {
  x: NDArray<Float32Array>;
  /** Statistics of the MMPS solves (null without observations, for a conditional prior, or without early exit). */
  solver: SolveSummary | null;
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
  const d = numel(input.xShape);
  const family = obs ? operatorFamily(obs.kind, obs.config) : null;
  if (input.prior.kind === "conditional") {
    if (!family) throw new Error("a conditional model samples q(x | y, A): it needs observations");
    checkConditionEncoding(input.prior.condition, family, "the conditional model");
  }
  const prior = loadPrior(input.prior);
  // Synchronous reads (the solver's early exit) are unavailable on WebGPU in Deno.
  const earlyExit = ctx?.backend?.backend !== "webgpu";
  const stats = obs && input.prior.kind !== "conditional" ? solveStatsCollector() : null;
  const guide = { earlyExit, onSolve: earlyExit ? stats?.onSolve : undefined };
  const out = new Float32Array(n * d);
  let reported = 0;
  try {
    for (let start = 0; start < n; start += input.batchSize) {
      const stop = Math.min(n, start + input.batchSize), b = stop - start;
      const { denoiser, held } = obs && family
        ? batchDenoiser(input, prior, family, obs, start, stop, guide)
        : { denoiser: prior.denoiser, held: [] };
      try {
        const x = await sampleRows(denoiser, {
          sampler: input.sampler,
          steps: input.steps,
          sigmaMin: input.sigmaMin,
          sigmaMax: input.sigmaMax,
          seed: input.seed,
          first: input.firstRow + start,
          count: b,
          eventShape: input.xShape,
          batchSize: b,
          mean: input.startMean ? Float32Array.from(input.startMean.data) : undefined,
          corrections: input.corrections,
        }, (done) => {
          ctx?.progress({ rows: start + done - reported });
          reported = start + done;
        });
        out.set(x.data, start * d);
      } finally {
        for (const h of held) h.dispose();
      }
    }
  } finally {
    prior.dispose();
  }
  return {
    x: { shape: [n, ...input.xShape], data: out },
    solver: stats && earlyExit ? stats.summary() : null,
  };
}

/**
 * The denoiser of rows `[start, stop)` of the shard's observations: MMPS around the prior's denoiser,
 * bound to the batch's operator and y (DiEM), or a conditional model bound to the batch's conditions
 * c_i = encode(y_i, A_i) (DiffEM: the plain sampler, no solve). `held` is freed after the batch.
 */
function batchDenoiser(
  input: PosteriorShardInput,
  prior: LoadedPrior,
  family: OperatorFamily,
  obs: NonNullable<PosteriorShardInput["observations"]>,
  start: number,
  stop: number,
  guide: { earlyExit: boolean; onSolve?: (s: SolveStats) => void },
): { denoiser: Denoiser; held: { dispose(): void }[] } {
  const params = family.sliceParams(obs.params, start, stop);
  const y = sliceRows(obs.y, start, stop);
  if (input.prior.kind === "conditional") {
    const c = encodeCondition(family, params, y);
    const ct = tf.tensor2d(c.data, c.shape as [number, number]);
    return { denoiser: prior.withCondition(ct), held: [ct] };
  }
  const op = family.bind(params);
  const yt = tf.tensor(Float32Array.from(y.data), y.shape);
  const d = numel(input.xShape);
  const mmps = mmpsDenoiser(prior.denoiser, op, yt, obs.sigmaY, {
    covariance: input.covariance,
    covX: input.covX ? matrix(d, d, Float64Array.from(input.covX.data)) : undefined,
    solver: input.solver,
    exactMax: input.exactMax,
    maxiter: input.solverMaxiter,
    rtol: input.solverRtol,
    ...guide,
  });
  return { denoiser: mmps, held: [mmps, op, yt] };
}

/**
 * The jobs this module offers to Workers ({@link WorkerPool}).
 *
 * @example
 * ```ts
 * const outputs = await pool.run(workerJobs.samplePosteriorShard, inputs);
 * ```
 */
export const workerJobs = defineWorkerJobs(import.meta.url, { samplePosteriorShard });
