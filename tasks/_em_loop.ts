/**
 * The checkpointed iteration loop of `fit-gaussian` (full and low-rank): resume from the `em` checkpoint,
 * iterate the fit's generator, record one history row per iteration, checkpoint after each and report
 * progress with the log evidence; and the warning of a fit stopped unconverged.
 *
 * @module
 */
import type { StageContext } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

/** What every history row has (a fit adds its own diagnostics). */
export interface EMHistoryRow {
  iteration: number;
  log_evidence: number;
  relative_change: number | null;
}

/** One fit's pieces for {@link checkpointedEM}. */
export interface EMLoop<
  P,
  It extends { prior: P; converged: boolean; logEvidence: number; relativeChange: number | null },
  Row,
> {
  /** The fresh start. */
  initial: P;
  /** The prior saved in a checkpoint's arrays. */
  fromArrays(arrays: Record<string, NDArray>): P;
  /** The prior as checkpoint arrays. */
  toArrays(prior: P): Record<string, NDArray>;
  /** The iterations from a start. */
  iterate(start: { prior: P; iteration: number; logEvidence: number | null }): Iterable<It>;
  /** The history row of an iteration. */
  row(it: It): Row;
  maxIterations: number;
  /** The convergence tolerance (for the warning). */
  tol: number;
}

/**
 * Run (or resume) a fit's iterations with a checkpoint after each; returns the last prior, the history
 * and whether it converged.
 *
 * @example
 * ```ts
 * const { prior, history, converged } = await checkpointedEM(ctx, { initial, fromArrays, toArrays, iterate, row, maxIterations });
 * ```
 */
export async function checkpointedEM<
  P,
  It extends { prior: P; converged: boolean; logEvidence: number; relativeChange: number | null },
  Row extends EMHistoryRow,
>(ctx: StageContext, loop: EMLoop<P, It, Row>): Promise<{ prior: P; history: Row[]; converged: boolean }> {
  let prior = loop.initial, history: Row[] = [], converged = false;
  const saved = await ctx.checkpoints.load("em");
  if (saved) {
    history = saved.state.history as Row[];
    converged = saved.state.converged as boolean;
    prior = loop.fromArrays(saved.arrays);
  }
  ctx.progress.start(loop.maxIterations, "iteration", history.length);
  const start = { prior, iteration: history.length, logEvidence: history.at(-1)?.log_evidence ?? null };
  for (const it of converged ? [] : loop.iterate(start)) {
    prior = it.prior;
    converged = it.converged;
    history.push(loop.row(it));
    await ctx.checkpoints.save("em", { history, converged }, loop.toArrays(prior));
    const change = it.relativeChange === null ? "" : `, change ${it.relativeChange.toExponential(1)}`;
    ctx.progress.tick(1, `log p(y) ${it.logEvidence.toFixed(6)}${change}`);
    await Promise.resolve();
  }
  if (!converged) {
    const warning = `Gaussian EM stopped unconverged after ${history.length} iterations (max_iterations): ` +
      `relative change of the log evidence ${
        history.at(-1)?.relative_change?.toExponential(2)
      } ≥ tol ${loop.tol}`;
    ctx.log(`warning: ${warning}`);
    ctx.meta({ warnings: [warning] });
  }
  return { prior, history, converged };
}
