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
import { MLP, type MLPConfig } from "../nn/mlp.ts";
import { importParams, type NoiseConditionedNet } from "../nn/module.ts";
import { UNet, type UNetConfig } from "../nn/unet.ts";
import type { NDArray } from "../store/zarr.ts";

/** A prior, as data. */
export type PriorModel =
  | { kind: "gaussian"; mean: NDArray; cov: NDArray }
  | { kind: "network"; config: Record<string, unknown>; weights: Record<string, NDArray> };

/**
 * Build the network an architecture description (`net.config`) describes, with fresh weights
 * from `seed`.
 *
 * @example
 * ```ts
 * const net = networkFromConfig({ kind: "mlp", features: 5, hidden: [256, 256, 256] }, 0);
 * ```
 */
export function networkFromConfig(config: Record<string, unknown>, seed: number): NoiseConditionedNet {
  const { kind, ...rest } = config;
  if (kind === "mlp") return new MLP(rest as unknown as MLPConfig, seed);
  if (kind === "unet") return new UNet(rest as unknown as UNetConfig, seed);
  throw new Error(`unknown network kind ${JSON.stringify(kind)} (known: mlp, unet)`);
}

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
  const net = networkFromConfig(model.config, 0);
  importParams(net, model.weights);
  return { denoiser: edmDenoiser(net, condition), net, dispose: () => net.dispose() };
}
