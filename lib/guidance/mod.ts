/**
 * Guidance: turning a prior's denoiser into a posterior denoiser for linear observations y = A x + σ_y ε.
 * MMPS (docs/design.md §3) with its covariance variants (Tweedie `mmps`, `zero`, `cov_t`, `cov_x`), and the
 * batched linear solvers it runs (conjugate gradient, minimal residual).
 *
 * @example
 * ```ts
 * import { mmpsDenoiser } from "./mod.ts";
 * const post = mmpsDenoiser(prior, operator, y, 0.01, { solver: "mr", maxiter: 1 });
 * const x = sampleDDPM(post, x1, sigmas, rows);
 * post.dispose();
 * ```
 *
 * @module
 */
export {
  type CovarianceKind,
  covarianceKinds,
  defaultExactMax,
  mmpsDenoiser,
  type MMPSOptions,
  type MMPSSolver,
  mmpsSolvers,
  resolveSolver,
  type SolveStats,
  solveStatsCollector,
  type SolveSummary,
} from "./mmps.ts";
export {
  conjugateGradient,
  minimalResidual,
  type SolverName,
  type SolverOptions,
  type SolverResult,
  solvers,
} from "./solvers.ts";
