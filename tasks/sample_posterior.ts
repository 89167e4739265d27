/**
 * `sample-posterior`: the E-step. One sample of q(x | y_i) per observation, in shards that run
 * in parallel Workers (one per core on WASM); every finished shard is checkpointed, so an
 * interrupted E-step resumes where it stopped. Row i always draws from its own random stream, so
 * results do not depend on the shard size or the number of Workers.
 *
 * The prior comes from the `prior` input:
 * - `fit-gaussian`: exact closed-form posterior samples for projection and mask operators
 *   (`method: exact`), or MMPS with the exact Gaussian denoiser (`method: mmps`, any operator);
 * - `fit-prior`: MMPS with the trained denoiser (DESIGN §3), CG per observation; the covariance
 *   heuristics `zero | cov_t | cov_x` run on the same code path as baselines;
 * - `fit-conditional` (DiffEM, DESIGN §4): the conditional model q(x | y_i, A_i) sampled directly by the
 *   plain sampler with its condition c_i = encode(y_i, A_i) bound per row (`method: conditional`, the
 *   default for it): no MMPS, no CG; the MMPS parameters are ignored.
 *
 * With `unconditional: true` the observations are ignored and the prior itself is sampled (`count`
 * samples, default as many as observations), to evaluate the prior alone.
 *
 * @module
 */
import { z } from "zod";
import { priorFromArrays, sampleGaussianPosterior } from "../lib/gaussian/posterior.ts";
import { covarianceKinds } from "../lib/guidance/mmps.ts";
import type { PosteriorShardInput, PosteriorShardOutput } from "../lib/sampling/posterior_shard.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import type { StageContext, TaskDef } from "../lib/engine/task.ts";
import type { NDArray } from "../lib/array.ts";
import { WorkerPool } from "../lib/tensor/pool.ts";
import { useBackend } from "./_backend.ts";
import { readPrior } from "./_model.ts";
import { type Observations, readObservations } from "./_observations.ts";

const params = z.object({
  /** exact: closed form (Gaussian prior, projection or mask); mmps: diffusion sampling with MMPS; conditional: a fit-conditional model sampled as is; auto: exact when possible, conditional for a conditional model, else mmps. */
  method: z.enum(["auto", "exact", "mmps", "conditional"]).default("auto"),
  sampler: z.enum(["ddpm", "ddim", "pc"]).default("ddpm"),
  /** Sampler steps (the time grid has steps + 1 points). */
  steps: z.number().int().positive().default(64),
  /** Langevin corrections per step of the predictor–corrector sampler. */
  corrections: z.number().int().min(0).default(1),
  covariance: z.enum(covarianceKinds as unknown as ["mmps", "zero", "cov_t", "cov_x"]).default("mmps"),
  /** Linear solver inside MMPS: cg (exact for a symmetric system) or mr (minimal residual, GMRES(1) restarted: robust to a learned, non-symmetric Jacobian). */
  solver: z.enum(["cg", "mr"]).default("cg"),
  /** Solver iterations per denoiser call (default: the observation size, where CG is exact). */
  cg_maxiter: z.number().int().positive().optional(),
  cg_rtol: z.number().positive().default(1e-6),
  /** Noise schedule for a Gaussian prior sampled with MMPS (a trained prior carries its own). */
  sigma_min: z.number().positive().default(1e-3),
  sigma_max: z.number().positive().default(10),
  unconditional: z.boolean().default(false),
  /** Unconditional only: how many samples (default: as many as observations). */
  count: z.number().int().positive().optional(),
  /**
   * Shards the observations are split into: the unit of checkpointing and of parallel work
   * (Workers here, a job array on a cluster). A count, not a size, so that a cluster executor
   * knows it before the observations exist.
   */
  shards: z.number().int().positive().default(4),
  /** Rows per batch inside a shard (memory). */
  batch_size: z.number().int().positive().default(2048),
  /** Worker threads (default: one per core on WASM, none on WebGPU or cpu). */
  workers: z.number().int().min(0).optional(),
});

type Params = z.output<typeof params>;

function rowsOf(a: NDArray, start: number, stop: number): NDArray {
  const w = a.data.length / a.shape[0];
  return { shape: [stop - start, ...a.shape.slice(1)], data: a.data.slice(start * w, stop * w) };
}

function exactPossible(obs: Observations): boolean {
  return obs.family.kind === "projection" || obs.family.kind === "mask";
}

async function sample(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  const obs = await readObservations(ctx.input("obs"));
  const priorEntry = ctx.input("prior");
  if (p.count !== undefined && !p.unconditional) {
    throw new Error("count applies to unconditional sampling only (set unconditional: true)");
  }
  const n = p.unconditional ? p.count ?? obs.y.shape[0] : obs.y.shape[0];
  const xShape = [...obs.family.xShape];
  const d = xShape.reduce((a, b) => a * b, 1);
  const gaussian = priorEntry.task === "fit-gaussian";
  const conditional = priorEntry.task === "fit-conditional";
  if (conditional && p.method !== "auto" && p.method !== "conditional") {
    throw new Error(
      `prior ${priorEntry.stageId} is a conditional model (fit-conditional): sample it with method auto or conditional, not ${p.method}`,
    );
  }
  if (!conditional && p.method === "conditional") {
    throw new Error(`method conditional needs a fit-conditional prior (prior: ${priorEntry.task})`);
  }
  if (conditional && p.unconditional) {
    throw new Error(
      `prior ${priorEntry.stageId} is a conditional model q(x | y, A): it cannot sample without observations`,
    );
  }
  const exact = !p.unconditional && gaussian &&
    (p.method === "exact" || (p.method === "auto" && exactPossible(obs)));
  if (p.method === "exact" && !exact) {
    throw new Error(
      `method exact needs a fit-gaussian prior and a projection or mask operator (prior: ${priorEntry.task}, operator: ${obs.family.kind}${
        p.unconditional ? ", unconditional" : ""
      })`,
    );
  }
  const prior = await readPrior(priorEntry, p);
  if (p.covariance === "cov_x" && !prior.cov && !conditional) {
    throw new Error("covariance cov_x needs the prior's covariance: use it with a fit-gaussian prior");
  }
  ctx.meta({ method: exact ? "exact" : conditional ? "conditional" : "mmps" });

  const out = new Float32Array(n * d);
  // Shard s covers rows [⌊s n / S⌋, ⌊(s + 1) n / S⌋).
  const shards: [number, number][] = Array.from(
    { length: p.shards },
    (_, s) => [Math.floor((s * n) / p.shards), Math.floor(((s + 1) * n) / p.shards)],
  );
  const slot = (s: number) => `shard-${String(s).padStart(5, "0")}`;
  const saved = new Set(await ctx.checkpoints.list());
  // A job-array element computes its own shard only; a whole run (or the gather job) all of them.
  const scope = ctx.shard !== null ? [ctx.shard] : shards.map((_, s) => s);
  const todo = scope.filter((s) => !saved.has(slot(s)));
  const rowsIn = (list: number[]) => list.reduce((a, s) => a + shards[s][1] - shards[s][0], 0);
  if (ctx.shard === null) {
    for (const s of scope) {
      if (saved.has(slot(s))) {
        out.set((await ctx.checkpoints.load(slot(s)))!.arrays.x.data as Float32Array, shards[s][0] * d);
      }
    }
  }
  const resumed = scope.length - todo.length;
  if (resumed) ctx.log(`${resumed} of ${scope.length} shards already done`);
  ctx.progress.start(rowsIn(scope), "obs", rowsIn(scope) - rowsIn(todo), exact ? "exact" : p.sampler);
  const finish = async (s: number, x: NDArray<Float32Array>) => {
    out.set(x.data, shards[s][0] * d);
    await ctx.checkpoints.save(slot(s), { start: shards[s][0], stop: shards[s][1] }, { x });
  };

  if (exact) {
    const g = priorFromArrays(prior.mean!, prior.cov!);
    for (const s of todo) {
      const [start, stop] = shards[s];
      const part = {
        ...obs,
        y: rowsOf(obs.y, start, stop),
        params: obs.family.sliceParams(obs.params, start, stop),
      };
      await finish(s, sampleGaussianPosterior(g, part, ctx.seed, start));
      ctx.progress.tick(stop - start);
    }
  } else {
    const info = await useBackend(ctx);
    const workers = Math.min(
      p.workers ?? (info.backend === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0),
      todo.length,
    );
    const pool = new WorkerPool({ workers, backend: info.backend });
    const cgStats: PosteriorShardOutput["cg"][] = [];
    try {
      const input = (s: number): PosteriorShardInput => {
        const [start, stop] = shards[s];
        return {
          prior: prior.model,
          sigmaMin: prior.sigmaMin,
          sigmaMax: prior.sigmaMax,
          observations: p.unconditional ? null : {
            kind: obs.info.kind,
            config: obs.info.config,
            params: obs.family.sliceParams(obs.params, start, stop),
            y: rowsOf(obs.y, start, stop),
            sigmaY: obs.sigmaY,
          },
          rows: stop - start,
          xShape,
          seed: ctx.seed,
          firstRow: start,
          sampler: p.sampler,
          steps: p.steps,
          corrections: p.corrections,
          covariance: p.covariance,
          priorCov: prior.cov,
          solver: p.solver,
          cgMaxiter: p.cg_maxiter,
          cgRtol: p.cg_rtol,
          batchSize: p.batch_size,
          startMean: prior.mean,
        };
      };
      // Waves of one shard per Worker: each finished wave is checkpointed before the next starts.
      const wave = Math.max(1, workers);
      for (let i = 0; i < todo.length; i += wave) {
        const ids = todo.slice(i, i + wave);
        const outputs = await pool.run<PosteriorShardInput, PosteriorShardOutput>(
          new URL("../lib/sampling/posterior_shard.ts", import.meta.url),
          "samplePosteriorShard",
          ids.map(input),
          { onProgress: (_shard, v) => ctx.progress.tick((v as { rows: number }).rows) },
        );
        for (let j = 0; j < ids.length; j++) {
          await finish(ids[j], outputs[j].x);
          cgStats.push(outputs[j].cg);
        }
      }
    } finally {
      pool.close();
    }
    const cg = cgStats.filter((c) => c !== null);
    if (cg.length) {
      const maxResidual = Math.max(...cg.map((c) => c!.maxRelResidual));
      const meanIterations = cg.reduce((a, c) => a + c!.meanIterations, 0) / cg.length;
      ctx.metrics({ cg_max_rel_residual: maxResidual, cg_mean_iterations: meanIterations });
      ctx.meta({ cg: cg });
    }
    ctx.meta({ workers });
  }
  if (ctx.shard !== null) return;
  const x = { shape: [n, ...xShape], data: out };
  await ctx.writeArray("x", x);
  const m = sampleMoments({ shape: [n, d], data: out });
  ctx.metrics({ samples: n, shards: shards.length, mean_norm: Math.hypot(...m.mean) });
}

/** The sample-posterior task. */
export const samplePosteriorTask: TaskDef<typeof params> = {
  name: "sample-posterior",
  version: 2,
  description:
    "sample the posterior of every observation (exact Gaussian, MMPS, or a conditional model), sharded and resumable",
  params,
  inputs: {
    obs: { description: "observations (corrupt, or dataset with source zarr)" },
    prior: { description: "the prior: a fit-gaussian, fit-prior or fit-conditional stage" },
  },
  resources: { cpus: 2, memory: "8G", time: "4:00:00" },
  shards: (p) => p.shards,
  run: sample,
};
