/**
 * DiffEM (docs/design.md §4): the condition c = encode(y, A) a conditional denoiser d_θ(x_t, σ, c) sees,
 * and the M-step's re-corruption of the current samples with fresh operators and noise.
 *
 * @example
 * ```ts
 * import { conditionEncoding, recorrupt } from "./mod.ts";
 * const set = recorrupt(obs.family, samples, obs.sigmaY, seed);
 * const net = buildNet({ kind: "mlp", features: 5, conditionFeatures: conditionEncoding(obs.family).features });
 * ```
 *
 * @module
 */
export {
  checkConditionEncoding,
  type ConditionEncoding,
  conditionEncoding,
  encodeCondition,
} from "./condition.ts";
export { recorrupt, type RecorruptedSet, recorruptionStats } from "./recorrupt.ts";
