/**
 * `sample-posterior`: the E-step. One sample of q(x | y_i) per observation, in shards that run
 * in parallel Workers (one per core on WASM); every finished shard is checkpointed, so an
 * interrupted E-step resumes where it stopped. Row i always draws from its own random stream, so
 * results do not depend on the shard size or the number of Workers.
 *
 * What is sampled depends on the prior the `prior` input published (its metadata says which kind):
 * - `gaussian` (`fit-gaussian`): exact closed-form posterior samples for every operator with dense rows
 *   (projection, mask, blur: `method: exact`), or MMPS with the exact Gaussian denoiser (`method: mmps`);
 * - `lowrank-gaussian` (`fit-gaussian` with `covariance: lowrank`): exact samples by Matheron's rule through
 *   Woodbury (operators with a normal form) or a conjugate-gradient solve (blur; its figures in the
 *   metadata's `exact_solve`), or MMPS with its exact denoiser in TF ops (`method: mmps`);
 * - `network` (`fit-prior`): MMPS with the trained denoiser (docs/design.md §3), one linear solve per
 *   observation; the covariance heuristics `zero | cov_t | cov_x` run on the same code path as baselines;
 * - `conditional` (`fit-conditional`, DiffEM, docs/design.md §4): the conditional model q(x | y_i, A_i)
 *   sampled directly by the plain sampler with its condition c_i = encode(y_i, A_i) bound per row
 *   (`method: conditional`, the default for it): no MMPS, no solve; the MMPS parameters are ignored.
 *
 * `cov_x` takes Σ_x from the optional `gaussian` input (a Gaussian fit, with any prior: the DiEM paper's
 * manifold E-step uses the Gaussian start's covariance with a trained network), else from a Gaussian prior.
 *
 * With `unconditional: true` the observations are ignored and the prior itself is sampled (`count`
 * samples, default as many as observations), to evaluate the prior alone.
 *
 * With `draws: K` (default 1) each observation gets K independent posterior samples: `x` is the first (what
 * the M-step trains on; the same numbers as with `draws: 1`) and `mean` the average of the K, the
 * Monte-Carlo posterior mean (PSNR/SSIM of the posterior mean in `evaluate`). Draw k ≥ 1 samples with the
 * seed `deriveSeed(seed, "draw", k)`: exactly what a stage of that seed and `draws: 1` would give.
 *
 * @module
 */
import { z } from "zod";
import {
  lowRankFromArrays,
  type LowRankSolveInfo,
  priorFromArrays,
  sampleGaussianPosterior,
  sampleLowRankPosterior,
} from "../lib/gaussian/mod.ts";
import { covarianceKinds, defaultExactMax, mmpsSolvers } from "../lib/guidance/mod.ts";
import { type PosteriorShardInput, type PosteriorShardOutput, workerJobs } from "../lib/sampling/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import { type InputEntry, type StageContext, StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
import { type NDArray, numel, sliceRows } from "../lib/array.ts";
import { deriveSeed } from "../lib/random.ts";
import { blasThreadsPerWorker, WorkerPool } from "../lib/tensor/mod.ts";
import { useBackend } from "./_backend.ts";
import { modelOf, readPrior, type StoredPrior } from "./_model.ts";
import { type Observations, readObservations } from "./_observations.ts";
import { renamed } from "./_params.ts";

const params = z.object({
  /** exact: closed form (Gaussian prior, an operator with dense rows); mmps: diffusion sampling with MMPS; conditional: a conditional model sampled as is; auto: exact when possible, conditional for a conditional model, else mmps. */
  method: z.enum(["auto", "exact", "mmps", "conditional"]).default("auto"),
  sampler: z.enum(["ddpm", "ddim", "pc"]).default("ddpm"),
  /** Sampler steps (the time grid has steps + 1 points). */
  steps: z.number().int().positive().max(1e5).default(64),
  /** Langevin corrections per step of the predictor–corrector sampler. */
  corrections: z.number().int().min(0).default(1),
  covariance: z.enum(covarianceKinds as unknown as ["mmps", "zero", "cov_t", "cov_x"]).default("mmps"),
  /** Linear solver inside MMPS: exact (covariance mmps, m ≤ exact_max: G = Jᵀ Aᵀ from one batched backward pass, LU per row), cg (exact for a symmetric system), mr (minimal residual, GMRES(1) restarted: robust to a learned, non-symmetric Jacobian), or auto (exact where it applies, else cg). */
  solver: z.enum(mmpsSolvers as unknown as ["auto", "exact", "cg", "mr"]).default("auto"),
  /** Largest observation size m for which solver auto takes the exact path. */
  exact_max: z.number().int().positive().default(defaultExactMax),
  /** Solver iterations per denoiser call (default: the observation size, where CG is exact; 3 for images, as the DiEM paper's 1–3). */
  solver_maxiter: z.number().int().positive().optional(),
  /** Solver relative tolerance per row. */
  solver_rtol: z.number().positive().default(1e-6),
  cg_maxiter: renamed("solver_maxiter"),
  cg_rtol: renamed("solver_rtol"),
  /** Noise schedule for a Gaussian prior sampled with MMPS (a trained prior carries its own). */
  sigma_min: z.number().positive().default(1e-3),
  sigma_max: z.number().positive().default(10),
  unconditional: z.boolean().default(false),
  /** Unconditional only: how many samples (default: as many as observations). */
  count: z.number().int().positive().max(1e8).optional(),
  /**
   * Shards the observations are split into: the unit of checkpointing and of parallel work
   * (Workers here, a job array on a cluster). A count, not a size, so that a cluster executor
   * knows it before the observations exist.
   */
  shards: z.number().int().positive().max(1e4).default(4),
  /** Rows per batch inside a shard (memory; default 2048 rows for vectors, about 2^17 values for images, ≥ 16 rows). */
  batch_size: z.number().int().positive().max(1e6).optional(),
  /** Worker threads (default: one per core on WASM, none on WebGPU or cpu). */
  workers: z.number().int().min(0).optional(),
  /** Posterior samples per observation (default 1): `x` is the first, `mean` the average of all. */
  draws: z.number().int().positive().max(1e4).optional(),
});

type Params = z.output<typeof params>;

/** How this stage samples: decided from the prior's kind, the operator and the parameters. */
type Method = "exact" | "mmps" | "conditional";

/** Check the parameters against the prior's kind and choose the method (errors name both). */
function chooseMethod(p: Params, prior: InputEntry, obs: Observations): Method {
  const kind = modelOf(prior)?.kind;
  const conditional = kind === "conditional";
  if (conditional && p.method !== "auto" && p.method !== "conditional") {
    throw new StageMismatchError(
      `prior ${prior.stageId} is a conditional model: sample it with method auto or conditional, not ${p.method}`,
    );
  }
  if (!conditional && p.method === "conditional") {
    throw new StageMismatchError(
      `method conditional needs a conditional model as prior (${prior.stageId} is ${kind ?? "none"})`,
    );
  }
  if (conditional && p.unconditional) {
    throw new StageMismatchError(
      `prior ${prior.stageId} is a conditional model q(x | y, A): it cannot sample without observations`,
    );
  }
  // Exact posteriors need a Gaussian prior and an operator whose rows the posterior can factor.
  const gaussian = kind === "gaussian" || kind === "lowrank-gaussian";
  const exactPossible = !p.unconditional && gaussian && obs.family.denseRows !== undefined;
  if (p.method === "exact" && !exactPossible) {
    throw new StageMismatchError(
      `method exact needs a Gaussian prior and observations (prior ${prior.stageId}: ${kind ?? "none"}${
        p.unconditional ? ", unconditional" : ""
      })`,
    );
  }
  if (p.method === "exact" || (p.method === "auto" && exactPossible)) return "exact";
  return conditional ? "conditional" : "mmps";
}

/** Shard s covers rows [⌊s n / S⌋, ⌊(s + 1) n / S⌋). */
function shardRows(n: number, count: number): [number, number][] {
  return Array.from(
    { length: count },
    (_, s) => [Math.floor((s * n) / count), Math.floor(((s + 1) * n) / count)],
  );
}

const slot = (s: number) => `shard-${String(s).padStart(5, "0")}`;

/** The seed of draw k: the stage's own for the first, so that draw 0 is the sample of `draws: 1`. */
export function drawSeed(seed: number, k: number): number {
  return k === 0 ? seed : deriveSeed(seed, "draw", k);
}

/**
 * The stage's outputs as shards finish: `x` (the first draw of every row), `mean` (the average of the K draws,
 * when K > 1) and each shard's solver statistics (those of its first draw; they travel in its checkpoint, so
 * the metrics do not depend on which shards were computed in this process and which were resumed).
 */
class ShardOutputs {
  readonly x: Float32Array;
  readonly mean: Float32Array | null;
  readonly solver = new Map<number, ShardSolverStats>();
  readonly #pending = new Map<number, { first?: NDArray<Float32Array>; sum: Float64Array; count: number }>();
  constructor(n: number, readonly d: number, readonly draws: number, readonly shards: [number, number][]) {
    this.x = new Float32Array(n * d);
    this.mean = draws > 1 ? new Float32Array(n * d) : null;
  }

  /** A shard loaded from its checkpoint. */
  resume(s: number, loaded: { state: Record<string, unknown>; arrays: Record<string, NDArray> }): void {
    this.x.set(loaded.arrays.x.data as Float32Array, this.shards[s][0] * this.d);
    this.mean?.set(loaded.arrays.mean.data as Float32Array, this.shards[s][0] * this.d);
    this.solver.set(s, (loaded.state.solver ?? null) as ShardSolverStats);
  }

  /** Draw k of shard s; once all K are in, the arrays to checkpoint (`x`, and `mean` when K > 1), else null. */
  add(
    s: number,
    k: number,
    x: NDArray<Float32Array>,
    solver: ShardSolverStats,
  ): Record<string, NDArray> | null {
    const acc = this.#pending.get(s) ?? { sum: new Float64Array(x.data.length), count: 0 };
    this.#pending.set(s, acc);
    if (k === 0) {
      acc.first = x;
      this.solver.set(s, solver);
    }
    for (let i = 0; i < x.data.length; i++) acc.sum[i] += x.data[i];
    if (++acc.count < this.draws) return null;
    this.#pending.delete(s);
    const offset = this.shards[s][0] * this.d;
    this.x.set(acc.first!.data, offset);
    if (!this.mean) return { x: acc.first! };
    const mean = { shape: acc.first!.shape, data: Float32Array.from(acc.sum, (v) => v / this.draws) };
    this.mean.set(mean.data, offset);
    return { x: acc.first!, mean };
  }
}

async function sample(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  const obs = await readObservations(ctx.input("obs"));
  const priorEntry = ctx.input("prior");
  if (p.count !== undefined && !p.unconditional) {
    throw new StageMismatchError("count applies to unconditional sampling only (set unconditional: true)");
  }
  const n = p.unconditional ? p.count ?? obs.y.shape[0] : obs.y.shape[0];
  const xShape = [...obs.family.xShape];
  const d = numel(xShape);
  const method = chooseMethod(p, priorEntry, obs);
  const draws = p.draws ?? 1;
  const prior = await readPrior(priorEntry, p);
  const covX = p.covariance === "cov_x" && method === "mmps" ? await covarianceOfX(ctx, prior) : undefined;
  ctx.meta({ method });

  const shards = shardRows(n, p.shards);
  const outputs = new ShardOutputs(n, d, draws, shards);
  const saved = new Set(await ctx.checkpoints.list());
  // A job-array element computes its own shard only; a whole run (or the gather job) all of them.
  const scope = ctx.shard !== null ? [ctx.shard] : shards.map((_, s) => s);
  const todo = scope.filter((s) => !saved.has(slot(s)));
  const rowsIn = (list: number[]) => list.reduce((a, s) => a + shards[s][1] - shards[s][0], 0);
  if (ctx.shard === null) {
    for (const s of scope) if (saved.has(slot(s))) outputs.resume(s, (await ctx.checkpoints.load(slot(s)))!);
  }
  const resumed = scope.length - todo.length;
  if (resumed) ctx.log(`${resumed} of ${scope.length} shards already done`);
  ctx.progress.start(
    draws * rowsIn(scope),
    draws > 1 ? "sample" : "obs",
    draws * (rowsIn(scope) - rowsIn(todo)),
    method === "exact" ? "exact" : p.sampler,
  );
  // Every draw of shard s lands here; the shard is checkpointed once all K are in.
  const finish = async (s: number, k: number, x: NDArray<Float32Array>, solver: ShardSolverStats = null) => {
    const arrays = outputs.add(s, k, x, solver);
    const [start, stop] = shards[s];
    if (arrays) await ctx.checkpoints.save(slot(s), { start, stop, solver: outputs.solver.get(s) }, arrays);
  };

  if (method === "exact") {
    const model = prior.model;
    const g = model.kind === "gaussian" ? priorFromArrays(model.mean, model.cov) : null;
    const low = model.kind === "lowrank-gaussian"
      ? lowRankFromArrays(model.mean, model.diag, model.factor)
      : null;
    const solves: LowRankSolveInfo[] = [];
    for (const s of todo) {
      const [start, stop] = shards[s];
      const part = {
        ...obs,
        y: sliceRows(obs.y, start, stop),
        params: obs.family.sliceParams(obs.params, start, stop),
      };
      for (let k = 0; k < draws; k++) {
        if (low) {
          const { x, info } = sampleLowRankPosterior(low, part, drawSeed(ctx.seed, k), start);
          if (k === 0) solves.push(info);
          await finish(s, k, x);
        } else await finish(s, k, sampleGaussianPosterior(g!, part, drawSeed(ctx.seed, k), start));
        ctx.progress.tick(stop - start);
      }
    }
    if (solves.length) ctx.meta({ exact_solve: solves });
  } else {
    const jobs = todo.flatMap((s) => Array.from({ length: draws }, (_, k) => ({ s, k })));
    const input = ({ s, k }: DrawJob): PosteriorShardInput =>
      shardInput(ctx, prior, obs, shards[s], covX, drawSeed(ctx.seed, k));
    await sampleInWorkers(ctx, jobs, input, ({ s, k }, x, solver) => finish(s, k, x, solver));
  }
  if (ctx.shard !== null) return;
  recordSolverStats(ctx, scope.map((s) => outputs.solver.get(s) ?? null));
  await ctx.writeArray("x", { shape: [n, ...xShape], data: outputs.x });
  if (outputs.mean) await ctx.writeArray("mean", { shape: [n, ...xShape], data: outputs.mean });
  const m = sampleMoments({ shape: [n, d], data: outputs.x });
  const extra = outputs.mean ? { draws } : {};
  ctx.metrics({ samples: n, shards: shards.length, mean_norm: Math.hypot(...m.mean), ...extra });
}

/**
 * Solver iterations and batch rows: the spec's, else the defaults for the event shape. Images take 3 solver
 * iterations (the observation size, CG's exact count, is the number of pixels there) and batches of about
 * 2^17 values (a U-Net's activations and their gradients per row are hundreds of times an image).
 */
function imageDefaults(p: Params, xShape: readonly number[]): { solverMaxiter?: number; batchSize: number } {
  const image = xShape.length > 1;
  return {
    solverMaxiter: p.solver_maxiter ?? (image ? 3 : undefined),
    batchSize: p.batch_size ?? (image ? Math.max(16, Math.floor(2 ** 17 / numel(xShape))) : 2048),
  };
}

/** Σ_x for `cov_x`: the `gaussian` input's covariance when wired, else a Gaussian prior's own. */
async function covarianceOfX(ctx: StageContext<Params>, prior: StoredPrior): Promise<NDArray> {
  const gaussian = ctx.optionalInput("gaussian");
  if (gaussian) {
    if (modelOf(gaussian)?.kind !== "gaussian") {
      throw new StageMismatchError(
        `input gaussian: stage ${gaussian.stageId} published no Gaussian (wire a fit-gaussian stage)`,
      );
    }
    return await gaussian.array("cov");
  }
  if (prior.cov) return prior.cov;
  throw new StageMismatchError(
    "covariance cov_x needs a covariance of x: wire a Gaussian fit as input gaussian (or use a Gaussian prior)",
  );
}

/** What one shard's Worker job needs, as plain data. */
function shardInput(
  ctx: StageContext<Params>,
  prior: StoredPrior,
  obs: Observations,
  [start, stop]: [number, number],
  covX: NDArray | undefined,
  seed: number,
): PosteriorShardInput {
  const p = ctx.params;
  const y = sliceRows(obs.y, start, stop);
  return {
    prior: prior.model,
    sigmaMin: prior.sigmaMin,
    sigmaMax: prior.sigmaMax,
    observations: p.unconditional ? null : {
      kind: obs.info.kind,
      config: obs.info.config,
      params: obs.family.sliceParams(obs.params, start, stop),
      // A copy: a view would carry the whole buffer of y to the Worker.
      y: { shape: y.shape, data: y.data.slice() },
      sigmaY: obs.sigmaY,
    },
    rows: stop - start,
    xShape: [...obs.family.xShape],
    seed,
    firstRow: start,
    sampler: p.sampler,
    steps: p.steps,
    corrections: p.corrections,
    covariance: p.covariance,
    covX,
    solver: p.solver,
    exactMax: p.exact_max,
    ...imageDefaults(p, obs.family.xShape),
    solverRtol: p.solver_rtol,
    startMean: prior.mean,
  };
}

/** One Worker job: draw k of shard s. */
interface DrawJob {
  s: number;
  k: number;
}

/**
 * Run the jobs `todo` (draws of shards) in Workers, in waves of one job per Worker: each finished wave is
 * handed to `finish` (with its solver statistics, which checkpoints a shard once all its draws are in)
 * before the next starts. Records the Worker count.
 */
async function sampleInWorkers(
  ctx: StageContext<Params>,
  todo: DrawJob[],
  input: (job: DrawJob) => PosteriorShardInput,
  finish: (job: DrawJob, x: NDArray<Float32Array>, solver: ShardSolverStats) => Promise<void>,
): Promise<void> {
  const info = await useBackend(ctx);
  const workers = Math.min(
    ctx.params.workers ?? (info.backend === "wasm" ? navigator.hardwareConcurrency ?? 1 : 0),
    todo.length,
  );
  const pool = new WorkerPool({ workers, backend: info.backend });
  try {
    const wave = Math.max(1, workers);
    for (let i = 0; i < todo.length; i += wave) {
      const ids = todo.slice(i, i + wave);
      const outputs = await pool.run(workerJobs.samplePosteriorShard, ids.map(input), {
        onProgress: (_shard, v) => ctx.progress.tick((v as { rows: number }).rows),
      });
      for (let j = 0; j < ids.length; j++) {
        await finish(ids[j], outputs[j].x, outputs[j].solver);
      }
    }
  } finally {
    pool.close();
  }
  ctx.meta({ workers, blas_threads_per_worker: info.blas && workers ? blasThreadsPerWorker(workers) : null });
}

/** One shard's solver statistics (null where no linear solve ran: exact or unguided sampling). */
type ShardSolverStats = PosteriorShardOutput["solver"];

/** The solver's statistics over every shard (computed here or resumed from its checkpoint). */
function recordSolverStats(ctx: StageContext<Params>, stats: ShardSolverStats[]): void {
  const solves = stats.filter((c) => c !== null);
  if (solves.length) {
    const maxResidual = Math.max(...solves.map((c) => c!.maxRelResidual));
    const meanIterations = solves.reduce((a, c) => a + c!.meanIterations, 0) / solves.length;
    ctx.metrics({ solver_max_rel_residual: maxResidual, solver_mean_iterations: meanIterations });
    // Which solve ran (exact, cg, mr, none): the same in every shard, decided by the parameters and m.
    ctx.meta({ solver: solves, solver_method: solves[0]!.method });
  }
}

/** The sample-posterior task. */
export const samplePosteriorTask: TaskDef<typeof params> = {
  name: "sample-posterior",
  version: 4,
  description:
    "sample the posterior of every observation (exact Gaussian, MMPS, or a conditional model), sharded and resumable",
  params,
  inputs: {
    obs: { description: "observations (corrupt, or dataset with source zarr)" },
    prior: {
      description: "the prior: a stage that published one (fit-gaussian, fit-prior or fit-conditional)",
    },
    gaussian: {
      description:
        "a Gaussian fit whose covariance is Σ_x of covariance cov_x (default: a Gaussian prior's own)",
      optional: true,
    },
  },
  resources: { cpus: 2, memory: "8G", time: "4:00:00" },
  shards: (p) => p.shards,
  run: sample,
};
