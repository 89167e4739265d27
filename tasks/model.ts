/**
 * How a trained prior lives in the store (written by `fit-prior`):
 *
 * ```
 * arrays/weights/<param name>   the network's weights (EMA weights when trained with an EMA)
 * json/model.json               { config, sigma_min, sigma_max, ema }: rebuilds the denoiser
 * ```
 *
 * and how a prior of either kind (Gaussian from `fit-gaussian`, network from `fit-prior`) is read
 * back as a {@link PriorModel}.
 *
 * @module
 */
import type { PriorModel } from "../lib/posterior/prior.ts";
import type { InputEntry } from "../lib/pipeline/task.ts";
import type { NDArray } from "../lib/store/zarr.ts";

/** What `model.json` holds. */
export interface ModelInfo {
  /** The network's architecture (`net.config`). */
  config: Record<string, unknown>;
  sigma_min: number;
  sigma_max: number;
  ema: boolean;
}

/** A trained network read from a fit-prior entry. */
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

/** Read the prior a stage provides: a fit-gaussian or a fit-prior entry. */
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
  throw new Error(
    `stage ${entry.stageId} (task ${entry.task}) is not a prior: wire a fit-gaussian or fit-prior stage`,
  );
}
