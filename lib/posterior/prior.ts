/**
 * A prior as plain data (so it can travel to a Worker or sit in the store) and the denoiser it
 * defines: a Gaussian N(μ, Σ) (exact denoiser), or a trained network with EDM preconditioning.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { edmDenoiser } from "../diffusion/denoiser.ts";
import { gaussianDenoiser, gaussianPrior } from "../diffusion/gaussian.ts";
import type { Denoiser } from "../diffusion/types.ts";
import { buildNet } from "../nn/factory.ts";
import { importParams, type NoiseConditionedNet } from "../nn/module.ts";
import type { NDArray } from "../store/zarr.ts";

/** A prior, as data. */
export type PriorModel =
  | { kind: "gaussian"; mean: NDArray; cov: NDArray }
  | { kind: "network"; config: Record<string, unknown>; weights: Record<string, NDArray> };

/** A denoiser with the resources it holds. */
export interface LoadedPrior {
  denoiser: Denoiser;
  /** The network, when the prior is one (for conditional inputs and parameter access). */
  net: NoiseConditionedNet | null;
  dispose(): void;
}

/**
 * The denoiser of a prior model; `condition` binds a conditional network's per-row condition.
 *
 * @example
 * ```ts
 * const prior = loadPrior({ kind: "gaussian", mean, cov });
 * const x0 = prior.denoiser(xt, sigma);
 * prior.dispose();
 * ```
 */
export function loadPrior(model: PriorModel, condition?: tf.Tensor): LoadedPrior {
  if (model.kind === "gaussian") {
    const d = gaussianDenoiser(gaussianPrior(model.mean.data, model.cov.data));
    return { denoiser: d, net: null, dispose: () => d.dispose() };
  }
  const net = buildNet(model.config);
  importParams(net, model.weights);
  return { denoiser: edmDenoiser(net, condition), net, dispose: () => net.dispose() };
}
