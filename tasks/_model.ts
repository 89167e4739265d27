/**
 * How a trained prior lives in the store (written by `fit-prior`, and by `fit-conditional` for
 * DiffEM's conditional model):
 *
 * ```
 * arrays/weights/<param name>   the network's weights (EMA weights when trained with an EMA)
 * json/model.json               { config, sigma_min, sigma_max, ema }: rebuilds the denoiser;
 *                               a conditional model adds { conditional: true, condition }
 * ```
 *
 * and how a prior of any kind (Gaussian from `fit-gaussian`, network from `fit-prior`,
 * conditional network from `fit-conditional`) is read back as a {@link PriorModel}.
 *
 * @module
 */
import type { ConditionEncoding } from "../lib/diffem/condition.ts";
import type { PriorModel } from "../lib/sampling/prior.ts";
import type { InputEntry } from "../lib/engine/task.ts";
import type { NDArray } from "../lib/array.ts";

/** What `model.json` holds. */
export interface ModelInfo {
  /** The network's architecture (`net.config`). */
  config: Record<string, unknown>;
  sigma_min: number;
  sigma_max: number;
  ema: boolean;
  /** A conditional model d_θ(x_t, σ, c) (fit-conditional); absent for an unconditional prior. */
  conditional?: true;
  /** How c is built from (y, A): the E-step encodes its observations the same way. */
  condition?: ConditionEncoding;
}

/**
 * A trained network read from a fit-prior or fit-conditional entry.
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
  /** The prior covariance, when known (Gaussian): the `cov_x` heuristic needs one. */
  cov?: NDArray;
}

/**
 * Read the prior a stage provides: a fit-gaussian, fit-prior or fit-conditional entry.
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
  if (entry.task === "fit-gaussian") {
    const mean = await entry.array("mean"), cov = await entry.array("cov");
    return {
      model: { kind: "gaussian", mean, cov },
      sigmaMin: schedule.sigma_min,
      sigmaMax: schedule.sigma_max,
      mean,
      cov,
    };
  }
  if (entry.task === "fit-prior") {
    const { info, weights } = await loadModel(entry);
    return {
      model: { kind: "network", config: info.config, weights },
      sigmaMin: info.sigma_min,
      sigmaMax: info.sigma_max,
    };
  }
  if (entry.task === "fit-conditional") {
    const { info, weights } = await loadModel(entry);
    if (!info.conditional || !info.condition) {
      throw new Error(`stage ${entry.stageId}: its model.json does not describe a conditional model`);
    }
    return {
      model: { kind: "conditional", config: info.config, weights, condition: info.condition },
      sigmaMin: info.sigma_min,
      sigmaMax: info.sigma_max,
    };
  }
  throw new Error(
    `stage ${entry.stageId} (task ${entry.task}) is not a prior: wire a fit-gaussian, fit-prior or fit-conditional stage`,
  );
}
