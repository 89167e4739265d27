/**
 * A prior as plain data (so it can travel to a Worker or sit in the store) and the denoiser it
 * defines: a Gaussian N(μ, Σ) or a low-rank one N(μ, diag(d) + U Uᵀ) (exact denoisers), a trained network with EDM preconditioning, or a
 * conditional network d_θ(x_t, σ, c) (DiffEM: it models q(x | y, A) directly, c = encode(y, A)).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type Denoiser, edmDenoiser } from "../diffusion/mod.ts";
import { gaussianDenoiser, lowRankDenoiser, lowRankFromArrays, priorFromArrays } from "../gaussian/mod.ts";
import { buildNet, importParams, type NoiseConditionedNet } from "../nn/mod.ts";
import type { NDArray } from "../array.ts";
import type { ConditionEncoding } from "../diffem/mod.ts";

/** A prior, as data. */
export type PriorModel =
  | { kind: "gaussian"; mean: NDArray; cov: NDArray }
  /** N(mean, diag(diag) + factor factorᵀ), factor `[D, r]` (docs/design.md §3.4). */
  | { kind: "lowrank-gaussian"; mean: NDArray; diag: NDArray; factor: NDArray }
  | { kind: "network"; config: Record<string, unknown>; weights: Record<string, NDArray>; sigmaData: number }
  | {
    kind: "conditional";
    config: Record<string, unknown>;
    weights: Record<string, NDArray>;
    /** σ_data of the EDM preconditioning it was trained with. */
    sigmaData: number;
    /** How the network's condition input is built from (y, A). */
    condition: ConditionEncoding;
  };

/** A denoiser with the resources it holds. */
export interface LoadedPrior {
  /** The denoiser (for a conditional network: bound to the `condition` given to {@link loadPrior}, if any). */
  denoiser: Denoiser;
  /** The network, when the prior is one (for conditional inputs and parameter access). */
  net: NoiseConditionedNet | null;
  /**
   * The denoiser of a conditional network bound to per-row conditions `[B, features]` (one batch of
   * observations); throws for an unconditional prior. The caller disposes `condition`.
   */
  withCondition(condition: tf.Tensor): Denoiser;
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
 * // DiffEM: a conditional network, bound to one batch's conditions c = encode(y, A).
 * const q = loadPrior({ kind: "conditional", config, weights, sigmaData: 1, condition: encoding });
 * const xhat = q.withCondition(tf.tensor2d(c.data, c.shape))(xt, sigma);
 * ```
 */
export function loadPrior(model: PriorModel, condition?: tf.Tensor): LoadedPrior {
  const unconditional = (): never => {
    throw new Error(`a ${model.kind} prior takes no condition`);
  };
  if (model.kind === "gaussian" || model.kind === "lowrank-gaussian") {
    const d = model.kind === "gaussian"
      ? gaussianDenoiser(priorFromArrays(model.mean, model.cov))
      : lowRankDenoiser(lowRankFromArrays(model.mean, model.diag, model.factor));
    return { denoiser: d, net: null, withCondition: unconditional, dispose: () => d.dispose() };
  }
  const net = buildNet(model.config);
  importParams(net, model.weights);
  if (model.kind === "conditional" && net.conditionFeatures !== model.condition.features) {
    net.dispose();
    throw new Error(
      `conditional prior: the network takes ${net.conditionFeatures} condition features, its encoding ${model.condition.features}`,
    );
  }
  return {
    denoiser: edmDenoiser(net, { condition, sigmaData: model.sigmaData }),
    net,
    withCondition: model.kind === "conditional"
      ? (c) => edmDenoiser(net, { condition: c, sigmaData: model.sigmaData })
      : unconditional,
    dispose: () => net.dispose(),
  };
}
