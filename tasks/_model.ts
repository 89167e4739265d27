/**
 * What a prior is, said by the stage that made it, and how any prior is read back.
 *
 * A stage that publishes a prior describes it in its entry's metadata (`meta.model`, a
 * {@link ModelDescriptor}): `gaussian` (arrays `mean`, `cov`: `fit-gaussian`), `lowrank-gaussian` (arrays
 * `mean`, `diag`, `factor`: `fit-gaussian` with `covariance: lowrank`), `network` (an unconditional
 * denoiser: `fit-prior`) or `conditional` (a conditional denoiser q(x | y, A) with its condition encoding:
 * `fit-conditional`), with its event shape. Consumers read that, never the producing task's name, so a
 * plugin task that publishes the same layout and description is a prior too.
 *
 * A trained network lives in the store as
 *
 * ```
 * arrays/weights/<param name>   the network's weights (EMA weights when trained with an EMA)
 * json/model.json               { config, sigma_min, sigma_max, sigma_data, ema }: rebuilds the denoiser;
 *                               a conditional model adds { conditional: true, condition }
 * ```
 *
 * @module
 */
import type { ConditionEncoding } from "../lib/diffem/mod.ts";
import type { PriorModel } from "../lib/sampling/mod.ts";
import { type InputEntry, type StageContext, StageMismatchError } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

/** What `model.json` holds. */
export interface ModelInfo {
  /** The network's architecture (`net.config`). */
  config: Record<string, unknown>;
  sigma_min: number;
  sigma_max: number;
  /** σ_data of the EDM preconditioning it was trained with (absent: 1). */
  sigma_data?: number;
  ema: boolean;
  /** A conditional model d_θ(x_t, σ, c) (fit-conditional); absent for an unconditional prior. */
  conditional?: true;
  /** How c is built from (y, A): the E-step encodes its observations the same way. */
  condition?: ConditionEncoding;
}

/** What kind of prior a stage published: its entry's `meta.model`. */
export interface ModelDescriptor {
  kind: PriorModel["kind"];
  /** Shape of one x. */
  event_shape: number[];
}

/**
 * Say, in the stage's metadata, what prior it publishes.
 *
 * @example
 * ```ts
 * describeModel(ctx, { kind: "gaussian", event_shape: [5] });
 * ```
 */
export function describeModel(ctx: StageContext, model: ModelDescriptor): void {
  ctx.meta({ model });
}

/**
 * The prior a stage published, or null when it published none.
 *
 * @example
 * ```ts
 * if (modelOf(ctx.input("prior"))?.kind === "conditional") console.log("DiffEM");
 * ```
 */
export function modelOf(entry: InputEntry): ModelDescriptor | null {
  const model = entry.meta.model as ModelDescriptor | undefined;
  return model && typeof model.kind === "string" ? model : null;
}

/**
 * A trained network read from a stage that published one (`network` or `conditional`).
 *
 * @example
 * ```ts
 * const { info, weights } = await loadModel(ctx.input("init"));
 * importParams(net, weights);
 * ```
 */
export async function loadModel(
  entry: InputEntry,
): Promise<{ info: ModelInfo; weights: Record<string, NDArray> }> {
  const info = await entry.json<ModelInfo>("model");
  const weights: Record<string, NDArray> = {};
  for (const name of Object.keys(entry.arrays)) {
    if (name.startsWith("weights/")) weights[name.slice("weights/".length)] = await entry.array(name);
  }
  return { info, weights };
}

/** A prior of any kind, with the noise schedule to sample it. */
export interface StoredPrior {
  model: PriorModel;
  sigmaMin: number;
  sigmaMax: number;
  /** The prior mean, when known (Gaussian): samplers start from it. */
  mean?: NDArray;
  /** The prior covariance, when known (Gaussian): the `cov_x` heuristic's default Σ_x. */
  cov?: NDArray;
}

/**
 * Read the prior a stage published (see {@link modelOf}); a Gaussian takes the schedule given.
 *
 * @example
 * ```ts
 * const prior = await readPrior(ctx.input("prior"), { sigma_min: 1e-3, sigma_max: 10 });
 * if (prior.model.kind === "conditional") console.log(prior.model.condition.features);
 * ```
 */
export async function readPrior(
  entry: InputEntry,
  schedule: { sigma_min: number; sigma_max: number },
): Promise<StoredPrior> {
  const kind = modelOf(entry)?.kind;
  if (kind === "gaussian") {
    const mean = await entry.array("mean"), cov = await entry.array("cov");
    return {
      model: { kind: "gaussian", mean, cov },
      sigmaMin: schedule.sigma_min,
      sigmaMax: schedule.sigma_max,
      mean,
      cov,
    };
  }
  if (kind === "lowrank-gaussian") {
    const mean = await entry.array("mean");
    const model = {
      kind,
      mean,
      diag: await entry.array("diag"),
      factor: await entry.array("factor"),
    } as const;
    return { model, sigmaMin: schedule.sigma_min, sigmaMax: schedule.sigma_max, mean };
  }
  if (kind === "network" || kind === "conditional") {
    const { info, weights } = await loadModel(entry);
    const network = { config: info.config, weights, sigmaData: info.sigma_data ?? 1 };
    if (kind === "network") {
      return { model: { kind, ...network }, sigmaMin: info.sigma_min, sigmaMax: info.sigma_max };
    }
    if (!info.conditional || !info.condition) {
      throw new Error(`stage ${entry.stageId}: its model.json does not describe a conditional model`);
    }
    return {
      model: { kind, ...network, condition: info.condition },
      sigmaMin: info.sigma_min,
      sigmaMax: info.sigma_max,
    };
  }
  throw new StageMismatchError(
    `stage ${entry.stageId} (task ${entry.task}) published no prior (its metadata has no model): wire a stage that fits one (fit-gaussian, fit-prior, fit-conditional)`,
  );
}
