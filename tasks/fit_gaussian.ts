/**
 * `fit-gaussian`: the Gaussian prior N(μ, Σ) fitted by EM on the observations alone (docs/design.md §3),
 * starting from N(0, I). Checkpointed after every iteration, so an interrupted fit resumes.
 *
 * @module
 */
import { z } from "zod";
import {
  gaussianEMStep,
  type GaussianPrior,
  priorFromArrays,
  priorToArrays,
  standardGaussianPrior,
} from "../lib/gaussian/mod.ts";
import type { TaskDef } from "../lib/engine/mod.ts";
import { readObservations } from "./_observations.ts";
import { describeModel } from "./_model.ts";

const params = z.object({
  iterations: z.number().int().positive().default(16),
  /** exact: expected sufficient statistics from the closed-form posteriors; sample: one posterior sample each (Monte-Carlo EM, as the paper). */
  mode: z.enum(["exact", "sample"]).default("exact"),
});

/** The fit-gaussian task. */
export const fitGaussianTask: TaskDef<typeof params> = {
  name: "fit-gaussian",
  version: 2,
  description: "Gaussian prior fitted by EM on the observations (the EM loop's start)",
  params,
  inputs: { obs: { description: "observations (corrupt, or dataset with source zarr)" } },
  async run(ctx) {
    const { iterations, mode } = ctx.params;
    const obs = await readObservations(ctx.input("obs"));
    const d = obs.family.xShape.reduce((a, b) => a * b, 1);
    let prior: GaussianPrior = standardGaussianPrior(d);
    let iteration = 0;
    let history: {
      iteration: number;
      log_evidence: number | null;
      mean_change: number;
      cov_change: number;
    }[] = [];
    const saved = await ctx.checkpoints.load("em");
    if (saved) {
      iteration = saved.state.iteration as number;
      history = saved.state.history as typeof history;
      prior = priorFromArrays(saved.arrays.mean, saved.arrays.cov);
    }
    ctx.progress.start(iterations, "iteration", iteration);
    while (iteration < iterations) {
      const { prior: next, stats } = gaussianEMStep(prior, obs, { mode, seed: ctx.seed + iteration });
      prior = next;
      iteration++;
      history.push({
        iteration,
        log_evidence: stats.logEvidence ?? null,
        mean_change: stats.meanChange,
        cov_change: stats.covChange,
      });
      await ctx.checkpoints.save("em", { iteration, history }, priorToArrays(prior));
      ctx.progress.tick(
        1,
        stats.logEvidence !== undefined ? `log p(y) ${stats.logEvidence.toFixed(3)}` : undefined,
      );
      await Promise.resolve();
    }
    const arrays = priorToArrays(prior);
    await ctx.writeArray("mean", arrays.mean);
    await ctx.writeArray("cov", arrays.cov);
    await ctx.writeJson("history", history);
    describeModel(ctx, { kind: "gaussian", event_shape: [...obs.family.xShape] });
    const last = history.at(-1)!;
    ctx.metrics({
      log_evidence: last.log_evidence,
      mean_change: last.mean_change,
      cov_change: last.cov_change,
    });
  },
};
