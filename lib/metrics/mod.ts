/**
 * How far samples are from the truth: entropic optimal transport (the Sinkhorn divergence
 * S = OT(U1, Q) − OT(U1, U2), as the papers evaluate the manifold benchmark), moment errors and
 * the fraction of samples outside the data box; each as a mean ± standard error over disjoint subsets.
 * For images: the Fréchet distance between feature sets (a classifier's penultimate features), and
 * PSNR and SSIM against a reference image (pixels in [−1, 1]: data range 2).
 *
 * @example
 * ```ts
 * import { sinkhornOT } from "./mod.ts";
 * const divergence = sinkhornOT(u1, samples).cost - sinkhornOT(u1, u2).cost;
 * ```
 *
 * @module
 */
export {
  fractionOutsideBox,
  type MomentErrors,
  momentErrors,
  rowsInsideBox,
  sampleMoments,
} from "./_moments.ts";
export {
  meanAndStandardError,
  type ReferenceLookup,
  sinkhornLayout,
  subsetCount,
  subsetMomentErrors,
  type SubsetSinkhorn,
  subsetSinkhorn,
  type SubsetSolve,
  type SubsetStatistic,
} from "./_subsets.ts";
export { type FeatureMoments, featureMoments, frechetDistance, frechetFromMoments } from "./_frechet.ts";
export { type ImageQualityOptions, psnr, ssim, ssimWindowSize } from "./_image_quality.ts";
export { type OTResult, type SinkhornOptions, sinkhornOT } from "./_sinkhorn.ts";
