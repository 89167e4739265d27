/**
 * `corrupt`: y = A x + σ_y ε with fresh operator parameters per observation (projection, mask)
 * or a shared one (blur). Reads the clean `x` of a dataset stage, writes observations.
 *
 * @module
 */
import { z } from "zod";
import { operatorFamily } from "../lib/operators/mod.ts";
import type { TaskDef } from "../lib/engine/mod.ts";
import { writeObservations } from "./_observations.ts";
import { numel } from "../lib/array.ts";

/** The operator as written in a spec (its xShape comes from the data). */
export const operatorSpec = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("projection"), m: z.number().int().positive() }),
  z.strictObject({ kind: z.literal("mask"), keep: z.number().min(0).max(1) }),
  z.strictObject({
    kind: z.literal("blur"),
    width: z.number().positive().default(1),
    size: z.number().int().positive().optional(),
  }),
]);

const params = z.object({
  operator: operatorSpec.default({ kind: "projection", m: 2 }),
  sigma_y: z.number().positive().default(0.01),
});

/** The corrupt task. */
export const corruptTask: TaskDef<typeof params> = {
  name: "corrupt",
  version: 1,
  description: "observe clean samples through a linear operator with Gaussian noise",
  params,
  inputs: { x: { description: "a dataset stage with clean samples x" } },
  async run(ctx) {
    const { operator, sigma_y } = ctx.params;
    const x = await ctx.input("x").array("x");
    const { kind, ...rest } = operator;
    const config = { ...rest, xShape: x.shape.slice(1) };
    const family = operatorFamily(kind, config);
    const { y, params: opParams } = family.corrupt(x, ctx.seed, sigma_y);
    await writeObservations(ctx, { kind, config, sigma_y, n: x.shape[0] }, y, opParams);
    ctx.metrics({ observations: x.shape[0], y_dim: numel(y.shape.slice(1)) });
  },
};
