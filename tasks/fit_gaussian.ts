/**
 * `fit-gaussian`: the Gaussian prior N(μ, Σ) fitted by EM on the observations alone (docs/design.md §3),
 * starting from N(0, I) and iterated until the log evidence has converged (`tol`) or `max_iterations`,
 * SQUAREM-accelerated in exact mode. Checkpointed after every iteration, so an interrupted fit resumes
 * exactly where it stopped. `covariance: lowrank` fits Σ = δ I + U Uᵀ instead (images: never D × D;
 * `_fit_lowrank.ts`, docs/design.md §3 (low-rank subsection)).
 *
 * @module
 */
import { z } from "zod";
import {
  gaussianEMIterations,
  gaussianLogEvidence,
  type GaussianPrior,
  priorFromArrays,
  priorToArrays,
  standardGaussianPrior,
} from "../lib/gaussian/mod.ts";
import type { TaskDef } from "../lib/engine/mod.ts";
import { readObservations } from "./_observations.ts";
import { describeModel } from "./_model.ts";
import { fitLowRank } from "./_fit_lowrank.ts";
import { checkpointedEM } from "./_em_loop.ts";
import { renamed } from "./_params.ts";
import { numel } from "../lib/array.ts";

const params = z.object({
  /** Stop once the relative change of the log evidence between successive iterates is below this. */
  tol: z.number().positive().default(1e-7),
  /** Stop after this many iterations at the latest (with a warning when not converged). */
  max_iterations: z.number().int().positive().default(2000),
  /** exact: expected sufficient statistics from the closed-form posteriors; sample: one posterior sample each (Monte-Carlo EM, as the paper). */
  mode: z.enum(["exact", "sample"]).default("exact"),
  /** squarem: SQUAREM extrapolation of the EM map, safeguarded to never lower the evidence (default with mode exact); none: plain EM (default, and the only choice, with mode sample). */
  acceleration: z.enum(["squarem", "none"]).optional(),
  /** full (default): a dense D × D Σ; lowrank: Σ = δ I + U Uᵀ of rank `rank` (images: never D × D). */
  covariance: z.enum(["full", "lowrank"]).optional(),
  /** Rank r of U with covariance lowrank (default 64). */
  rank: z.number().int().positive().optional(),
  /** The diagonal of a low-rank Σ: isotropic (default, PPCA: δ I) or pixel (each pixel's residual variance; mode sample, masks and boxes). */
  diagonal: z.enum(["isotropic", "pixel"]).optional(),
  iterations: renamed("max_iterations"),
}).refine((p) => !(p.mode === "sample" && p.acceleration === "squarem"), {
  path: ["acceleration"],
  message: 'acceleration "squarem" needs mode "exact" (Monte-Carlo EM is random): use acceleration: none',
}).refine((p) => p.covariance === "lowrank" || p.diagonal === undefined, {
  path: ["diagonal"],
  message: "diagonal applies to covariance lowrank only",
}).refine((p) => p.diagonal !== "pixel" || p.mode === "sample", {
  path: ["diagonal"],
  message: 'diagonal "pixel" needs mode "sample"',
}).refine((p) => p.covariance === "lowrank" || p.rank === undefined, {
  path: ["rank"],
  message: "rank applies to covariance lowrank only",
}).refine((p) => p.covariance !== "lowrank" || p.acceleration !== "squarem", {
  path: ["acceleration"],
  message: 'acceleration "squarem" is for covariance full: the low-rank fit iterates plain EM',
}).refine((p) => !(p.covariance === "lowrank" && p.mode === "sample" && p.tol < 1e-5), {
  path: ["tol"],
  message:
    "with covariance lowrank and mode sample the log evidence fluctuates by ~1e-4 relative between Monte-Carlo iterations: set tol ≥ 1e-5 (3e-4 recommended)",
});

/** One iteration's record in the `history` output and the checkpoint. */
interface HistoryRow {
  iteration: number;
  log_evidence: number;
  relative_change: number | null;
  em_steps: number;
  extrapolated: boolean;
  mean_change: number;
  cov_change: number;
}

/** The fit-gaussian task. */
export const fitGaussianTask: TaskDef<typeof params> = {
  name: "fit-gaussian",
  // 4: the posterior covariances summed without the [N, D, D] array change the fit in its last bits, and
  // EM laps downstream can amplify them (pipeline-compare with 5 MMPS iterations: lap 11 at 0.48 against 0.94).
  version: 4,
  description: "Gaussian prior fitted by EM on the observations to convergence (the EM loop's start)",
  params,
  inputs: { obs: { description: "observations (corrupt, or dataset with source zarr)" } },
  async run(ctx) {
    const { tol, max_iterations, mode, acceleration } = ctx.params;
    const obs = await readObservations(ctx.input("obs"));
    if (ctx.params.covariance === "lowrank") return await fitLowRank(ctx, obs, ctx.params);
    const { prior, history, converged } = await checkpointedEM(ctx, {
      initial: standardGaussianPrior(numel(obs.family.xShape)),
      fromArrays: (a) => priorFromArrays(a.mean, a.cov),
      toArrays: (p: GaussianPrior) => priorToArrays(p),
      iterate: (start) =>
        gaussianEMIterations(obs, start, {
          mode,
          acceleration,
          tol,
          maxIterations: max_iterations,
          seed: ctx.seed,
        }),
      row: (it): HistoryRow => ({
        iteration: it.iteration,
        log_evidence: it.logEvidence,
        relative_change: it.relativeChange,
        em_steps: it.emSteps,
        extrapolated: it.extrapolated,
        mean_change: it.meanChange,
        cov_change: it.covChange,
      }),
      maxIterations: max_iterations,
      tol,
    });
    const arrays = priorToArrays(prior);
    await ctx.writeArray("mean", arrays.mean);
    await ctx.writeArray("cov", arrays.cov);
    await ctx.writeJson("history", history);
    describeModel(ctx, { kind: "gaussian", event_shape: [...obs.family.xShape] });
    const last = history.at(-1)!;
    ctx.metrics({
      log_evidence: gaussianLogEvidence(prior, obs),
      iterations: history.length,
      em_steps: history.reduce((n, h) => n + h.em_steps, 0),
      converged,
      relative_change: last.relative_change,
      mean_change: last.mean_change,
      cov_change: last.cov_change,
    });
  },
};
