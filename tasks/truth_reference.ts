/**
 * `truth-reference`: the truth-only Sinkhorn solves OT(U1, U2) of the evaluations, solved once for every
 * `evaluate` of the same truth (its input `truth_reference`; tasks/_sinkhorn_reference.ts).
 *
 * @module
 */
import { z } from "zod";
import type { TaskDef } from "../lib/engine/mod.ts";
import { flattenRows } from "../lib/array.ts";
import { type ReferenceMeta, sinkhornParams, solveReferences } from "./_sinkhorn_reference.ts";

const params = z.object(sinkhornParams);

/** The truth-reference task. */
export const truthReferenceTask: TaskDef<typeof params> = {
  name: "truth-reference",
  version: 1,
  description: "the truth-vs-truth Sinkhorn solves of the evaluations, solved once for all of them",
  params,
  inputs: {
    truth: { description: "a dataset stage with the clean x (the evaluations' truth)" },
  },
  async run(ctx) {
    const p = ctx.params;
    const truthEntry = ctx.input("truth");
    const truth = flattenRows(await truthEntry.array("x"));
    const options = { reg: p.sinkhorn_reg, maxiter: p.sinkhorn_maxiter };
    const { m, solves } = solveReferences(truth, p.sinkhorn_samples, p.subsets, options, ctx.progress);
    await ctx.writeJson("sinkhorn_reference", solves);
    const meta: ReferenceMeta = { truth: truthEntry.key, m, ...options };
    ctx.meta({ sinkhorn_reference: meta });
    ctx.metrics({ solves: solves.length, sinkhorn_m: m, converged: solves.every((s) => s.converged) });
  },
};
