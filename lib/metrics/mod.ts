/**
 * How far samples are from the truth: entropic optimal transport (the Sinkhorn divergence
 * S = OT(U1, Q) − OT(U1, U2), as the papers evaluate the manifold benchmark), moment errors and
 * the fraction of samples outside the data box.
 *
 * @example
 * ```ts
 * import { sinkhornOT } from "./mod.ts";
 * const divergence = sinkhornOT(u1, samples).cost - sinkhornOT(u1, u2).cost;
 * ```
 *
 * @module
 */
export { fractionOutsideBox, type MomentErrors, momentErrors, sampleMoments } from "./_moments.ts";
export { type OTResult, type SinkhornOptions, sinkhornOT } from "./_sinkhorn.ts";
