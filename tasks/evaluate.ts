/**
 * `evaluate`: how good are the samples?
 * - with the hidden truth (synthetic benchmarks): Sinkhorn divergence to held-out true points
 *   (docs/design.md §5: U1 = x[:m], U2 = x[−m:], Q = samples of the first m observations, and of the next
 *   m), moment errors, the fraction of samples outside the data box;
 * - with the observations only (real data): the residual ‖y − A x‖ per observation against σ_y,
 *   a posterior predictive check.
 *
 * @module
 */
import { z } from "zod";
import { fractionOutsideBox, momentErrors, sinkhornOT } from "../lib/metrics/mod.ts";
import type { TaskDef } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import { readObservations } from "./_observations.ts";

const params = z.object({
  /** Sinkhorn sample size m (cost m²); clamped to what the data allows. */
  sinkhorn_samples: z.number().int().positive().default(1024),
  sinkhorn_reg: z.number().positive().default(1e-3),
  sinkhorn_maxiter: z.number().int().positive().default(1024),
  /** Samples outside [−box, box]^D are counted as outliers (the data lives in [−2, 2]). */
  box: z.number().positive().default(3),
  /** Samples kept (as `subset`) for corner plots. */
  plot_samples: z.number().int().positive().default(2048),
});

function rows(a: NDArray, start: number, stop: number): NDArray {
  const w = a.data.length / a.shape[0];
  return { shape: [stop - start, ...a.shape.slice(1)], data: a.data.slice(start * w, stop * w) };
}

function flat2d(a: NDArray): NDArray {
  return { shape: [a.shape[0], a.data.length / a.shape[0]], data: a.data };
}

/** The evaluate task. */
export const evaluateTask: TaskDef<typeof params> = {
  name: "evaluate",
  version: 1,
  description: "Sinkhorn divergence and moments against the truth; residuals against the observations",
  params,
  inputs: {
    samples: { description: "a stage with samples x (sample-posterior)" },
    truth: { description: "a dataset stage with the clean x (synthetic benchmarks)", optional: true },
    obs: { description: "the observations, for the posterior predictive check", optional: true },
    model: {
      description: "the fit-prior or fit-conditional stage trained on these samples, for its loss statistics",
      optional: true,
    },
  },
  async run(ctx) {
    const p = ctx.params;
    const samples = flat2d(await ctx.input("samples").array("x"));
    const n = samples.shape[0];
    const metrics: Record<string, unknown> = { outside_box: fractionOutsideBox(samples, -p.box, p.box) };
    // A subset of the samples for plots, so that reports need not read every sample.
    await ctx.writeArray("subset", rows(samples, 0, Math.min(n, p.plot_samples)));
    const truthEntry = ctx.optionalInput("truth");
    if (truthEntry) {
      const truth = flat2d(await truthEntry.array("x"));
      const nt = truth.shape[0];
      const m = Math.min(p.sinkhorn_samples, Math.floor(nt / 2), n);
      const u1 = rows(truth, 0, m), u2 = rows(truth, nt - m, nt);
      const opts = { reg: p.sinkhorn_reg, maxiter: p.sinkhorn_maxiter };
      // S = OT(U1, Q) − OT(U1, U2): the reference term is shared by both sample sets.
      ctx.progress.start(n >= 2 * m ? 3 : 2, "OT solve", 0, "sinkhorn");
      const reference = sinkhornOT(u1, u2, opts);
      ctx.progress.tick(1);
      const first = sinkhornOT(u1, rows(samples, 0, m), opts);
      ctx.progress.tick(1, `S = ${(first.cost - reference.cost).toFixed(4)}`);
      Object.assign(metrics, {
        sinkhorn: first.cost - reference.cost,
        sinkhorn_m: m,
        sinkhorn_iterations: first.iterations,
        sinkhorn_converged: first.converged,
      });
      if (n >= 2 * m) {
        metrics.sinkhorn_next = sinkhornOT(u1, rows(samples, m, 2 * m), opts).cost - reference.cost;
        ctx.progress.tick(1);
      }
      const e = momentErrors(rows(samples, 0, Math.min(n, nt)), rows(truth, 0, Math.min(n, nt)));
      Object.assign(metrics, {
        mean_error: e.meanError,
        cov_error: e.covError,
        cov_rel_error: e.covRelError,
      });
    }
    const obsEntry = ctx.optionalInput("obs");
    if (obsEntry) {
      const obs = await readObservations(obsEntry);
      const ax = obs.family.applyHost(await ctx.input("samples").array("x"), obs.params);
      const k = ax.data.length / n;
      let sq = 0;
      for (let i = 0; i < ax.data.length; i++) sq += (obs.y.data[i] - ax.data[i]) ** 2;
      // E‖y − A x‖² = k σ_y² (+ posterior spread along A); report the ratio to the noise floor.
      const rms = Math.sqrt(sq / (n * k));
      Object.assign(metrics, { residual_rms: rms, residual_over_sigma: rms / obs.sigmaY });
    }
    const model = ctx.optionalInput("model");
    if (model) {
      const losses = (await model.json<[number, number][]>("losses")).map(([, l]) => l);
      const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
      Object.assign(metrics, {
        loss_final: tail.reduce((a, b) => a + b, 0) / tail.length,
        loss_min: Math.min(...losses),
        loss_first: losses[0],
      });
    }
    ctx.metrics(metrics);
  },
};
