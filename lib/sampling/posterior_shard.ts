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
import type { SamplerName } from "../diffusion/samplers.ts";
import { sampleRows } from "../diffusion/sharded.ts";
import { operatorFamily, type OperatorParams } from "../operators/mod.ts";
import type { NDArray } from "../array.ts";
import type { ShardContext } from "../tensor/pool.ts";
import { tf } from "../tensor/backend.ts";
import { matrix } from "../linalg/mod.ts";
import { checkConditionEncoding, encodeCondition } from "../diffem/condition.ts";
import { cgStatsCollector, type CovarianceKind, mmpsDenoiser } from "../guidance/mmps.ts";
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
  /** Linear solver of MMPS: conjugate gradient or minimal residual iteration. */
  solver?: "cg" | "mr";
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
  /** CG statistics of the MMPS solves (null without observations, for a conditional prior, or with `cgEarlyExit` off). */
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
  const family = obs ? operatorFamily(obs.kind, obs.config) : null;
  const conditional = input.prior.kind === "conditional";
  if (input.prior.kind === "conditional") {
    if (!family) throw new Error("a conditional model samples q(x | y, A): it needs observations");
    checkConditionEncoding(input.prior.condition, family, "the conditional model");
  }
  const prior = loadPrior(input.prior);
  const stats = obs && !conditional ? cgStatsCollector() : null;
  // Synchronous reads (CG early exit) are unavailable on WebGPU in Deno.
  const earlyExit = ctx?.backend?.backend !== "webgpu";
  const priorCov = input.priorCov ? matrix(d, d, Float64Array.from(input.priorCov.data)) : undefined;
  const out = new Float32Array(n * d);
  let reported = 0;
  try {
    // Batch by batch: MMPS binds the operator and y of the batch's observations; a conditional
    // model binds their conditions c_i = encode(y_i, A_i) instead (the plain sampler, no CG).
    for (let start = 0; start < n; start += input.batchSize) {
      const stop = Math.min(n, start + input.batchSize), b = stop - start;
      const held: { dispose(): void }[] = [];
      let denoiser = prior.denoiser;
      if (obs && family && conditional) {
        const w = obs.y.data.length / obs.y.shape[0];
        const y = { shape: [b, ...obs.y.shape.slice(1)], data: obs.y.data.subarray(start * w, stop * w) };
        const c = encodeCondition(family, family.sliceParams(obs.params, start, stop), y);
        const ct = tf.tensor2d(c.data, c.shape as [number, number]);
        held.push(ct);
        denoiser = prior.withCondition(ct);
      } else if (obs && family) {
        const op = family.bind(family.sliceParams(obs.params, start, stop));
        const w = obs.y.data.length / obs.y.shape[0];
        const y = tf.tensor(Float32Array.from(obs.y.data.subarray(start * w, stop * w)), [
          b,
          ...obs.y.shape.slice(1),
        ]);
        const mmps = mmpsDenoiser(prior.denoiser, op, y, obs.sigmaY, {
          covariance: input.covariance,
          priorCov,
          solver: input.solver,
          cgMaxiter: input.cgMaxiter,
          cgRtol: input.cgRtol,
          cgEarlyExit: earlyExit,
          onCG: earlyExit ? stats!.onCG : undefined,
        });
        held.push(mmps, op, y);
        denoiser = mmps;
      }
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
  return { x: { shape: [n, ...input.xShape], data: out }, cg: stats && earlyExit ? stats.summary() : null };
}
