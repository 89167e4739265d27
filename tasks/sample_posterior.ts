/**
 * `sample-posterior`: the E-step. One sample of q(x | y_i) per observation, in shards that run
 * in parallel Workers (one per core on WASM); every finished shard is checkpointed, so an
 * interrupted E-step resumes where it stopped. Row i always draws from its own random stream, so
 * results do not depend on the shard size or the number of Workers.
 *
 * What is sampled depends on the prior the `prior` input published (its metadata says which kind):
 * - `gaussian` (`fit-gaussian`): exact closed-form posterior samples for every operator with dense rows
 *   (projection, mask, blur: `method: exact`), or MMPS with the exact Gaussian denoiser (`method: mmps`);
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
 * @module
 */
import { z } from "zod";
import { priorFromArrays, sampleGaussianPosterior } from "../lib/gaussian/mod.ts";
import { covarianceKinds, defaultExactMax, mmpsSolvers } from "../lib/guidance/mod.ts";
import { type PosteriorShardInput, type PosteriorShardOutput, workerJobs } from "../lib/sampling/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
import type { InputEntry, StageContext, TaskDef } from "../lib/engine/mod.ts";
import { type NDArray, numel, sliceRows } from "../lib/array.ts";
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
});

type Params = z.output<typeof params>;

/** How this stage samples: decided from the prior's kind, the operator and the parameters. */
type Method = "exact" | "mmps" | "conditional";

/** Check the parameters against the prior's kind and choose the method (errors name both). */
function chooseMethod(p: Params, prior: InputEntry, obs: Observations): Method {
  const kind = modelOf(prior)?.kind;
  const conditional = kind === "conditional";
  if (conditional && p.method !== "auto" && p.method !== "conditional") {
    throw new Error(
      `prior ${prior.stageId} is a conditional model: sample it with method auto or conditional, not ${p.method}`,
    );
  }
  if (!conditional && p.method === "conditional") {
    throw new Error(
      `method conditional needs a conditional model as prior (${prior.stageId} is ${kind ?? "none"})`,
    );
  }
  if (conditional && p.unconditional) {
    throw new Error(
      `prior ${prior.stageId} is a conditional model q(x | y, A): it cannot sample without observations`,
    );
  }
  // Exact posteriors need a Gaussian prior and an operator whose rows the posterior can factor.
  const exactPossible = !p.unconditional && kind === "gaussian" && obs.family.denseRows !== undefined;
  if (p.method === "exact" && !exactPossible) {
    throw new Error(
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

async function sample(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  const obs = await readObservations(ctx.input("obs"));
  const priorEntry = ctx.input("prior");
  if (p.count !== undefined && !p.unconditional) {
    throw new Error("count applies to unconditional sampling only (set unconditional: true)");
  }
  const n = p.unconditional ? p.count ?? obs.y.shape[0] : obs.y.shape[0];
  const xShape = [...obs.family.xShape];
  const d = numel(xShape);
  const method = chooseMethod(p, priorEntry, obs);
  const prior = await readPrior(priorEntry, p);
  const covX = p.covariance === "cov_x" && method === "mmps" ? await covarianceOfX(ctx, prior) : undefined;
  ctx.meta({ method });

  const out = new Float32Array(n * d);
  const shards = shardRows(n, p.shards);
  const saved = new Set(await ctx.checkpoints.list());
  // A job-array element computes its own shard only; a whole run (or the gather job) all of them.
  const scope = ctx.shard !== null ? [ctx.shard] : shards.map((_, s) => s);
  const todo = scope.filter((s) => !saved.has(slot(s)));
  const rowsIn = (list: number[]) => list.reduce((a, s) => a + shards[s][1] - shards[s][0], 0);
  // Each shard's solver statistics travel in its checkpoint: the metrics do not depend on which
  // shards were computed in this process and which were resumed.
  const solverOf = new Map<number, ShardSolverStats>();
  if (ctx.shard === null) {
    for (const s of scope) {
      if (saved.has(slot(s))) {
        const loaded = (await ctx.checkpoints.load(slot(s)))!;
        out.set(loaded.arrays.x.data as Float32Array, shards[s][0] * d);
        solverOf.set(s, (loaded.state.solver ?? null) as ShardSolverStats);
      }
    }
  }
  const resumed = scope.length - todo.length;
  if (resumed) ctx.log(`${resumed} of ${scope.length} shards already done`);
  ctx.progress.start(
    rowsIn(scope),
    "obs",
    rowsIn(scope) - rowsIn(todo),
    method === "exact" ? "exact" : p.sampler,
  );
  const finish = async (s: number, x: NDArray<Float32Array>, solver: ShardSolverStats = null) => {
    out.set(x.data, shards[s][0] * d);
    solverOf.set(s, solver);
    await ctx.checkpoints.save(slot(s), { start: shards[s][0], stop: shards[s][1], solver }, { x });
  };

  if (method === "exact") {
    const g = priorFromArrays(prior.mean!, prior.cov!);
    for (const s of todo) {
      const [start, stop] = shards[s];
      const part = {
        ...obs,
        y: sliceRows(obs.y, start, stop),
        params: obs.family.sliceParams(obs.params, start, stop),
      };
      await finish(s, sampleGaussianPosterior(g, part, ctx.seed, start));
      ctx.progress.tick(stop - start);
    }
  } else {
    const input = (s: number): PosteriorShardInput => shardInput(ctx, prior, obs, shards[s], covX);
    await sampleInWorkers(ctx, todo, input, finish);
  }
  if (ctx.shard !== null) return;
  recordSolverStats(ctx, scope.map((s) => solverOf.get(s) ?? null));
  await ctx.writeArray("x", { shape: [n, ...xShape], data: out });
  const m = sampleMoments({ shape: [n, d], data: out });
  ctx.metrics({ samples: n, shards: shards.length, mean_norm: Math.hypot(...m.mean) });
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
      throw new Error(
        `input gaussian: stage ${gaussian.stageId} published no Gaussian (wire a fit-gaussian stage)`,
      );
    }
    return await gaussian.array("cov");
  }
  if (prior.cov) return prior.cov;
  throw new Error(
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
    seed: ctx.seed,
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

/**
 * Run the shards `todo` in Workers, in waves of one shard per Worker: each finished wave is checkpointed
 * (by `finish`, with its solver statistics) before the next starts. Records the Worker count.
 */
async function sampleInWorkers(
  ctx: StageContext<Params>,
  todo: number[],
  input: (s: number) => PosteriorShardInput,
  finish: (s: number, x: NDArray<Float32Array>, solver: ShardSolverStats) => Promise<void>,
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
