/**
 * `evaluate`: how good are the samples?
 * - with the hidden truth (synthetic benchmarks): Sinkhorn divergence to held-out true points
 *   (docs/design.md §5: U1 = x[:m], U2 = x[−m:], Q = samples of the first m observations, and of the next
 *   m), moment errors, the fraction of samples outside the data box; each divergence and moment error also
 *   as a mean ± standard error over disjoint subsets (`subsets`);
 * - with the observations only (real data): the residual ‖y − A x‖ per observation against σ_y,
 *   a posterior predictive check;
 * - on images (samples `[N, H, W, C]`, tasks/_evaluate_images.ts): the Fréchet distance of an evaluator's
 *   features to clean `reference` images, PSNR and SSIM against the truth (of the samples and of the
 *   posterior mean), and a grid figure; the vector metrics above do not apply (the residual check does).
 *
 * @module
 */
import { z } from "zod";
import {
  fractionOutsideBox,
  momentErrors,
  type OTResult,
  type ReferenceLookup,
  sinkhornLayout,
  sinkhornOT,
  subsetMomentErrors,
  subsetSinkhorn,
  type SubsetStatistic,
} from "../lib/metrics/mod.ts";
import type { Progress, TaskDef } from "../lib/engine/mod.ts";
import { flattenRows, type NDArray, sliceRows } from "../lib/array.ts";
import { readObservations } from "./_observations.ts";
import { imageMetrics } from "./_evaluate_images.ts";
import { referenceLookup, sinkhornParams } from "./_sinkhorn_reference.ts";

const params = z.object({
  ...sinkhornParams,
  /** Samples outside [−box, box]^D are counted as outliers (the data lives in [−2, 2]). */
  box: z.number().positive().default(3),
  /** Samples kept (as `subset`) for corner plots. */
  plot_samples: z.number().int().positive().default(2048),
  /** Images: observations shown in the grid figure (default 8; always the first ones). */
  grid_rows: z.number().int().positive().max(64).optional(),
});

function rows(a: NDArray, start: number, stop: number): NDArray {
  const w = a.data.length / a.shape[0];
  return { shape: [stop - start, ...a.shape.slice(1)], data: a.data.slice(start * w, stop * w) };
}

type Params = z.output<typeof params>;

/**
 * The metrics against the truth: the papers' single numbers (`sinkhorn` on U1 = truth[:m], U2 = truth[−m:],
 * Q = samples[:m]; `sinkhorn_next` with Q = samples[m:2m]; moment errors on all rows) and, over R disjoint
 * subsets, `<name>_mean` and `<name>_se` (lib/metrics `subsetSinkhorn`: `sinkhorn` paired, `sinkhorn_next`
 * independent). With R·m = N_truth subset 0 is the papers' configuration, so its solves are reused. The
 * truth-only reference solves come from `lookup` where it has them (a `truth-reference` stage); `layout` is
 * `sinkhornLayout` of these truth and samples.
 */
function truthMetrics(
  truth: NDArray,
  samples: NDArray,
  p: Params,
  progress: Progress,
  layout: ReturnType<typeof sinkhornLayout>,
  lookup: ReferenceLookup,
): Record<string, unknown> {
  const n = samples.shape[0], nt = truth.shape[0];
  const { m, subsets, reuse, references } = layout;
  const opts = { reg: p.sinkhorn_reg, maxiter: p.sinkhorn_maxiter };
  const toSolve = references.filter(([u1, u2]) => !lookup(u1, u2)).length;
  const sampleSolves = 2 * subsets + (reuse ? 0 : n >= 2 * m ? 2 : 1);
  progress.start(toSolve + sampleSolves, "OT solve", 0, "sinkhorn");
  const metrics: Record<string, unknown> = {};
  const put = (name: string, stat: SubsetStatistic) => {
    metrics[`${name}_mean`] = stat.mean;
    metrics[`${name}_se`] = stat.se;
  };
  let first: OTResult | null = null;
  if (subsets > 0) {
    const s = subsetSinkhorn(truth, samples, m, subsets, opts, ({ subset, kind, result, reused }) => {
      if (subset === 0 && kind === "paired") first = result;
      if (!reused) progress.tick(1);
    }, lookup);
    if (reuse) {
      Object.assign(metrics, { sinkhorn: s.paired.values[0], sinkhorn_next: s.independent.values[0] });
    }
    put("sinkhorn", s.paired);
    put("sinkhorn_next", s.independent);
    const moments = subsetMomentErrors(truth, samples, m, subsets);
    put("mean_error", moments.meanError);
    put("cov_error", moments.covError);
    put("cov_rel_error", moments.covRelError);
    metrics.sinkhorn_subsets = subsets;
  }
  if (!reuse) {
    // S = OT(U1, Q) − OT(U1, U2): the reference term is shared by both sample sets.
    const u1 = sliceRows(truth, 0, m);
    let reference = lookup(0, nt - m);
    if (!reference) {
      reference = sinkhornOT(u1, sliceRows(truth, nt - m, nt), opts);
      progress.tick(1);
    }
    first = sinkhornOT(u1, sliceRows(samples, 0, m), opts);
    metrics.sinkhorn = first.cost - reference.cost;
    progress.tick(1, `S = ${(metrics.sinkhorn as number).toFixed(4)}`);
    if (n >= 2 * m) {
      metrics.sinkhorn_next = sinkhornOT(u1, sliceRows(samples, m, 2 * m), opts).cost - reference.cost;
      progress.tick(1);
    }
  }
  const e = momentErrors(sliceRows(samples, 0, Math.min(n, nt)), sliceRows(truth, 0, Math.min(n, nt)));
  return {
    ...metrics,
    sinkhorn_m: m,
    sinkhorn_iterations: first!.iterations,
    sinkhorn_converged: first!.converged,
    mean_error: e.meanError,
    cov_error: e.covError,
    cov_rel_error: e.covRelError,
  };
}

/** The evaluate task. */
export const evaluateTask: TaskDef<typeof params> = {
  name: "evaluate",
  version: 2,
  description: "Sinkhorn divergence and moments against the truth; residuals against the observations",
  params,
  inputs: {
    samples: { description: "a stage with samples x (sample-posterior)" },
    truth: { description: "a dataset stage with the clean x (synthetic benchmarks)", optional: true },
    reference: {
      description: "images: a dataset stage with clean held-out test images (the FD reference)",
      optional: true,
    },
    evaluator: { description: "images: a fit-evaluator stage (the FD features)", optional: true },
    obs: { description: "the observations, for the posterior predictive check", optional: true },
    truth_reference: {
      description:
        "a truth-reference stage of the same truth: its truth-only Sinkhorn solves are not solved again",
      optional: true,
    },
    model: {
      description: "the fit-prior or fit-conditional stage trained on these samples, for its loss statistics",
      optional: true,
    },
  },
  async run(ctx) {
    const p = ctx.params;
    const raw = await ctx.input("samples").array("x");
    const samples = flattenRows(raw);
    const n = samples.shape[0];
    const metrics: Record<string, unknown> = { outside_box: fractionOutsideBox(samples, -p.box, p.box) };
    const truthEntry = ctx.optionalInput("truth");
    if (raw.shape.length === 4) {
      Object.assign(metrics, await imageMetrics(ctx, raw));
    } else {
      // A subset of the samples for plots, so that reports need not read every sample.
      await ctx.writeArray("subset", rows(samples, 0, Math.min(n, p.plot_samples)));
      if (truthEntry) {
        const truth = flattenRows(await truthEntry.array("x"));
        const referenceEntry = ctx.optionalInput("truth_reference");
        const opts = { reg: p.sinkhorn_reg, maxiter: p.sinkhorn_maxiter };
        const layout = sinkhornLayout(truth.shape[0], n, p.sinkhorn_samples, p.subsets);
        let lookup: ReferenceLookup = () => undefined;
        if (referenceEntry) {
          const r = await referenceLookup(referenceEntry, truthEntry.key, layout.m, opts);
          if (r.mismatch) ctx.log(`truth_reference not used: ${r.mismatch}`);
          lookup = r.lookup;
        }
        Object.assign(metrics, truthMetrics(truth, samples, p, ctx.progress, layout, lookup));
      }
    }
    const obsEntry = ctx.optionalInput("obs");
    if (obsEntry) {
      const obs = await readObservations(obsEntry);
      const ax = obs.family.applyHost(raw, obs.params);
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
