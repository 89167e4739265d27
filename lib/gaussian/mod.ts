/**
 * The Gaussian prior N(μ, Σ): the EM start of both methods. Its exact denoiser (for samplers and MMPS),
 * exact posterior moments and samples for linear-Gaussian observations, and Gaussian EM.
 *
 * @example
 * ```ts
 * import { gaussianEMStep, sampleGaussianPosterior, standardGaussianPrior } from "./mod.ts";
 * let prior = standardGaussianPrior(5);
 * for (let k = 0; k < 16; k++) prior = gaussianEMStep(prior, obs).prior;
 * const x = sampleGaussianPosterior(prior, obs, seed);
 * ```
 *
 * @module
 */
export {
  type GaussianPrior,
  gaussianPrior,
  priorFromArrays,
  priorToArrays,
  standardGaussianPrior,
} from "./prior.ts";
export { gaussianDenoiser } from "./denoiser.ts";
export {
  gaussianPosterior,
  type LinearGaussianObservations,
  type PosteriorMoments,
  sampleGaussianPosterior,
  summedPosteriorCovariance,
} from "./posterior.ts";
export {
  gaussianEMIterations,
  type GaussianFitIteration,
  type GaussianFitOptions,
  type GaussianFitStart,
} from "./fit.ts";
export { type GaussianEMOptions, type GaussianEMStats, gaussianEMStep, gaussianLogEvidence } from "./em.ts";
export {
  checkLowRank,
  isotropicDiag,
  lowRankCovTimes,
  lowRankFromArrays,
  type LowRankGaussian,
  lowRankToArrays,
  standardLowRankGaussian,
} from "./lowrank.ts";
export { lowRankDenoiser } from "./lowrank_denoiser.ts";
export {
  type LowRankCgOptions,
  lowRankLogEvidence,
  lowRankPosteriorCovariance,
  lowRankPosteriorMean,
  type LowRankSolveInfo,
  type PosteriorCovariance,
  sampleLowRankPosterior,
} from "./lowrank_posterior.ts";
export {
  lowRankEMIterations,
  type LowRankFitIteration,
  type LowRankFitOptions,
  type LowRankFitStart,
} from "./lowrank_fit.ts";
