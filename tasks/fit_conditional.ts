/**
 * `fit-conditional`: the M-step of DiffEM (Hosseintabar et al. 2025; docs/design.md §4). Re-corrupts the E-step's
 * samples x_i with FRESH operator parameters and noise drawn from the observations' own operator family and
 * σ_y, (A'_i, y'_i) = corrupt(x_i) (never the observed A_i: the model must learn q(x | y, A) for any A the
 * corruption process draws), and trains a conditional denoiser d_θ(x_t, σ, c) with c = encode(y', A') (see
 * `lib/diffem/condition.ts`: features of an MLP for vectors, extra input channels of a U-Net for images) by the
 * same denoising score matching loss as `fit-prior`, warm-started from
 * the previous lap's conditional model (the optimizer starts afresh each lap); from scratch when `init` is
 * absent or not a fit-conditional stage (lap 0 starts from the Gaussian prior's posterior samples).
 * Checkpointed every `checkpoint_every` steps; the re-corruption is a pure function of the stage's seed, so a
 * resumed fit continues exactly.
 *
 * Outputs, as fit-prior's: `weights/<name>`, `json/model.json` (with `conditional: true` and the condition
 * encoding), `json/losses.json`. Metrics besides the loss check the re-corruption: `recorrupt_fresh_fraction`
 * (rows whose operator differs from the one observed for that row: 1 for projections; for masks, 1 minus the
 * chance that a fresh mask repeats the observed one) and `recorrupt_residual_over_sigma` (RMS of y' − A' x
 * over σ_y: 1 up to Monte-Carlo error).
 *
 * @module
 */
import { z } from "zod";
import { buildNet } from "../lib/nn/mod.ts";
import { conditionEncoding, recorrupt, recorruptionStats } from "../lib/diffem/mod.ts";
import { type StageContext, StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
import { deriveSeed } from "../lib/random.ts";
import { useBackend } from "./_backend.ts";
import { readObservations } from "./_observations.ts";
import { denoiserTrainingParams, fitDenoiser, readTrainingSamples } from "./_training.ts";
import { networkConfig, resolveTraining } from "./_network.ts";

const params = z.object({
  ...denoiserTrainingParams,
  /** Independent re-corruptions of each sample (training pairs per sample). */
  copies: z.number().int().positive().max(1000).default(1),
});

type Params = z.output<typeof params>;

/**
 * The seed of a fit-conditional stage's re-corruption: derived from the stage's own seed, so every lap
 * draws other operators than the last, and none shares a stream with the observations' `corrupt` stage.
 *
 * @example
 * ```ts
 * const set = recorrupt(obs.family, x, obs.sigmaY, recorruptionSeed(ctx.seed));
 * ```
 */
export function recorruptionSeed(stageSeed: number): number {
  return deriveSeed(stageSeed, "fit-conditional", "recorrupt");
}

async function train(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  await useBackend(ctx);
  const obs = await readObservations(ctx.input("obs"));
  const kept = await readTrainingSamples(ctx);
  const xShape = [...obs.family.xShape];
  if (JSON.stringify(kept.eventShape) !== JSON.stringify(xShape)) {
    throw new StageMismatchError(
      `fit-conditional: samples have event shape [${kept.eventShape}], the observations' x has shape [${xShape}]`,
    );
  }
  const encoding = conditionEncoding(obs.family);
  const n = kept.data.length / kept.features;
  const set = recorrupt(
    obs.family,
    { shape: [n, ...xShape], data: kept.data },
    obs.sigmaY,
    recorruptionSeed(ctx.seed),
    p.copies,
  );
  // Rows of the samples are the observations' rows (one posterior sample each) when the counts agree.
  const stats = recorruptionStats(obs, set, kept.total === obs.info.n ? kept.rows : null);
  // The condition enters an MLP as features per row, a U-Net as extra image channels (Aᵀy, mask, …).
  const { network } = resolveTraining(p, xShape);
  const net = buildNet(networkConfig(network, xShape, encoding), ctx.seed);
  try {
    const { loss, warm } = await fitDenoiser(ctx, net, set.x.data, {
      conditions: set.conditions.data,
      encoding,
    });
    ctx.metrics({
      loss,
      warm_start: warm,
      steps: p.steps,
      kept_fraction: n / kept.total,
      training_pairs: set.x.shape[0],
      condition_features: encoding.features,
      recorrupt_fresh_fraction: stats.freshFraction,
      recorrupt_residual_over_sigma: stats.residualOverSigma,
    });
  } finally {
    net.dispose();
  }
}

/**
 * The fit-conditional task.
 *
 * @example
 * ```yaml
 * fit: { task: fit-conditional, inputs: { samples: prev.sample, obs: obs, init: prev.fit }, params: { steps: 1000 } }
 * ```
 */
export const fitConditionalTask: TaskDef<typeof params> = {
  name: "fit-conditional",
  version: 3,
  description:
    "DiffEM's M-step: re-corrupt samples with fresh operators and noise, train a conditional denoiser q(x | y, A)",
  params,
  inputs: {
    samples: { description: "a stage with samples x, one per observation (sample-posterior)" },
    obs: { description: "the observations: their operator family and σ_y re-corrupt the samples" },
    init: {
      description: "the previous lap's fit-conditional to warm-start from (else from scratch)",
      optional: true,
    },
  },
  resources: { cpus: 2, memory: "8G", time: "4:00:00" },
  run: train,
};
