/**
 * How far samples are from the truth: entropic optimal transport (Sinkhorn divergence, as the
 * papers evaluate the manifold benchmark), moment errors and the fraction of samples outside the data box.
 *
 * @example
 * ```ts
 * import { sinkhornDivergence } from "./mod.ts";
 * const { divergence } = sinkhornDivergence(samples, truth);
 * ```
 *
 * @module
 */
export * from "./moments.ts";
export * from "./sinkhorn.ts";
