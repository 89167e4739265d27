/**
 * `fit-gaussian` with `covariance: lowrank`: the Gaussian start N(μ, δ I + U Uᵀ) of image priors, fitted by
 * low-rank EM ({@link lowRankEMIterations}, docs/design.md §3.4) with the same convergence rule, metrics,
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
import type { StageContext } from "../lib/engine/mod.ts";
import { numel } from "../lib/array.ts";
import type { Observations } from "./_observations.ts";
import { describeModel } from "./_model.ts";

/** The parameters the low-rank fit reads. */
export interface LowRankFitParams {
  tol: number;
  max_iterations: number;
  mode: "exact" | "sample";
  rank?: number;
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
 * Warn (log and metadata) that the fit stopped at `max_iterations` without converging.
 *
 * @example
 * ```ts
 * if (!converged) warnUnconverged(ctx, history.length, last.relative_change, tol);
 * ```
 */
export function warnUnconverged(
  ctx: StageContext,
  iterations: number,
  change: number | null,
  tol: number,
): void {
  const warning = `Gaussian EM stopped unconverged after ${iterations} iterations (max_iterations): ` +
    `relative change of the log evidence ${change?.toExponential(2)} ≥ tol ${tol}`;
  ctx.log(`warning: ${warning}`);
  ctx.meta({ warnings: [warning] });
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
  if (!(rank < d)) throw new Error(`fit-gaussian: rank ${rank} must be below D = ${d} (the event size)`);
  if (obs.y.shape[0] > 0 && obs.family.normal(obs.params, 0) === null) {
    throw new Error(
      `fit-gaussian: covariance lowrank needs an operator with a normal form (mask, box, fourier) for its evidence; ${obs.family.kind} has none: use covariance full`,
    );
  }
  let prior: LowRankGaussian = standardLowRankGaussian(d, rank);
  let history: HistoryRow[] = [];
  let converged = false;
  const saved = await ctx.checkpoints.load("em");
  if (saved) {
    history = saved.state.history as HistoryRow[];
    converged = saved.state.converged as boolean;
    prior = lowRankFromArrays(saved.arrays.mean, saved.arrays.diag, saved.arrays.factor);
  }
  ctx.progress.start(p.max_iterations, "iteration", history.length);
  const start = { prior, iteration: history.length, logEvidence: history.at(-1)?.log_evidence ?? null };
  const options = { mode: p.mode, tol: p.tol, maxIterations: p.max_iterations, seed: ctx.seed };
  for (const it of converged ? [] : lowRankEMIterations(obs, start, options)) {
    prior = it.prior;
    converged = it.converged;
    history.push({
      iteration: it.iteration,
      log_evidence: it.logEvidence,
      relative_change: it.relativeChange,
      mean_change: it.meanChange,
      delta: it.delta,
    });
    await ctx.checkpoints.save("em", { history, converged }, lowRankToArrays(prior));
    const change = it.relativeChange === null ? "" : `, change ${it.relativeChange.toExponential(1)}`;
    ctx.progress.tick(1, `log p(y) ${it.logEvidence.toFixed(6)}${change}`);
    await Promise.resolve();
  }
  for (const [name, a] of Object.entries(lowRankToArrays(prior))) await ctx.writeArray(name, a);
  await ctx.writeJson("history", history);
  describeModel(ctx, { kind: "lowrank-gaussian", event_shape: [...obs.family.xShape] });
  ctx.meta({ covariance: { kind: "lowrank", rank, diagonal: "isotropic (PPCA)", moments: p.mode } });
  const last = history.at(-1)!;
  if (!converged) warnUnconverged(ctx, history.length, last.relative_change, p.tol);
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
