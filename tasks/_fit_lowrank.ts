/**
 * `fit-gaussian` with `covariance: lowrank`: the Gaussian start N(μ, δ I + U Uᵀ) of image priors, fitted by
 * low-rank EM ({@link lowRankEMIterations}, docs/design.md §3 (low-rank subsection)) with the same convergence rule, metrics,
 * warning and per-iteration checkpoint as the full fit. Publishes `mean [D]`, `diag [D]`, `factor [D, r]` and
 * `meta.model = { kind: "lowrank-gaussian", event_shape }`.
 *
 * @module
 */
import {
  lowRankEMIterations,
  lowRankFromArrays,
  type LowRankGaussian,
  lowRankLogEvidence,
  lowRankToArrays,
  standardLowRankGaussian,
} from "../lib/gaussian/mod.ts";
import { type StageContext, StageMismatchError } from "../lib/engine/mod.ts";
import { numel } from "../lib/array.ts";
import type { Observations } from "./_observations.ts";
import { describeModel } from "./_model.ts";
import { checkpointedEM } from "./_em_loop.ts";

/** The parameters the low-rank fit reads. */
export interface LowRankFitParams {
  tol: number;
  max_iterations: number;
  mode: "exact" | "sample";
  rank?: number;
  diagonal?: "isotropic" | "pixel";
}

/** One iteration's record in the `history` output and the checkpoint. */
interface HistoryRow {
  iteration: number;
  log_evidence: number;
  relative_change: number | null;
  mean_change: number;
  delta: number;
}

/**
 * Fit the low-rank Gaussian to `obs` and publish it (resuming from the `em` checkpoint).
 *
 * @example
 * ```ts
 * await fitLowRank(ctx, await readObservations(ctx.input("obs")), ctx.params);
 * ```
 */
export async function fitLowRank(ctx: StageContext, obs: Observations, p: LowRankFitParams): Promise<void> {
  const d = numel(obs.family.xShape), rank = p.rank ?? 64;
  if (!(rank < d)) {
    throw new StageMismatchError(`fit-gaussian: rank ${rank} must be below D = ${d} (the event size)`);
  }
  // The first observation's normal form says which basis the operator family diagonalises AᵀA in.
  const normal = obs.y.shape[0] > 0 ? obs.family.normal(obs.params, 0) : undefined;
  if (normal === null) {
    throw new StageMismatchError(
      `fit-gaussian: covariance lowrank needs an operator with a normal form (mask, box, fourier) for its evidence; ${obs.family.kind} has none: use covariance full`,
    );
  }
  const diagonal = p.diagonal ?? "isotropic";
  if (diagonal === "pixel" && normal && normal.basis !== "pixel") {
    throw new StageMismatchError(
      `fit-gaussian: diagonal pixel needs an operator diagonal in the pixel basis (mask, box); ${obs.family.kind} is diagonal in the ${normal.basis} basis, where the exact posterior needs diagonal isotropic`,
    );
  }
  const { prior, history, converged } = await checkpointedEM(ctx, {
    initial: standardLowRankGaussian(d, rank),
    fromArrays: (a) => lowRankFromArrays(a.mean, a.diag, a.factor),
    toArrays: (p: LowRankGaussian) => lowRankToArrays(p),
    iterate: (start) =>
      lowRankEMIterations(obs, start, {
        mode: p.mode,
        tol: p.tol,
        maxIterations: p.max_iterations,
        seed: ctx.seed,
        diagonal,
      }),
    row: (it): HistoryRow => ({
      iteration: it.iteration,
      log_evidence: it.logEvidence,
      relative_change: it.relativeChange,
      mean_change: it.meanChange,
      delta: it.delta,
    }),
    maxIterations: p.max_iterations,
    tol: p.tol,
  });
  for (const [name, a] of Object.entries(lowRankToArrays(prior))) await ctx.writeArray(name, a);
  await ctx.writeJson("history", history);
  describeModel(ctx, { kind: "lowrank-gaussian", event_shape: [...obs.family.xShape] });
  ctx.meta({
    covariance: {
      kind: "lowrank",
      rank,
      diagonal: diagonal === "pixel" ? "per pixel" : "isotropic (PPCA)",
      moments: p.mode,
    },
  });
  const last = history.at(-1)!;
  ctx.metrics({
    log_evidence: lowRankLogEvidence(prior, obs),
    iterations: history.length,
    converged,
    relative_change: last.relative_change,
    mean_change: last.mean_change,
    delta: last.delta,
    rank,
  });
}
