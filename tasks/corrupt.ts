/**
 * `corrupt`: y = A x + σ_y ε with fresh operator parameters per observation (projection, mask, box,
 * fourier) or a shared one (blur, fourier with `shared: true`). Reads the clean `x` of a dataset stage,
 * writes observations. σ_y conventions of the papers (docs/design.md): 1e-3 for masking and boxes, 1e-2 in
 * k-space (fourier); the default 0.01 is the manifold benchmark's.
 *
 * @module
 */
import { z } from "zod";
import { InvalidOperatorError, type OperatorFamily, operatorFamily } from "../lib/operators/mod.ts";
import { StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
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
  z.strictObject({
    kind: z.literal("box"),
    height: z.number().int().positive().optional(),
    width: z.number().int().positive().optional(),
  }),
  z.strictObject({
    kind: z.literal("fourier"),
    acceleration: z.number().min(1).default(4),
    center: z.number().min(0).max(1).default(0.08),
    shared: z.boolean().default(false),
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
    // An input stage without samples x is refused by the stage context, naming the stage and what it has.
    const x = await ctx.input("x").array("x");
    const { kind, ...rest } = operator;
    const config = { ...rest, xShape: x.shape.slice(1) };
    const family = familyFor(kind, config);
    const { y, params: opParams } = family.corrupt(x, ctx.seed, sigma_y);
    await writeObservations(ctx, { kind, config, sigma_y, n: x.shape[0] }, y, opParams);
    ctx.metrics({ observations: x.shape[0], y_dim: numel(y.shape.slice(1)) });
  },
};

/**
 * The operator family of the spec's `operator` on samples of the input's event shape. The spec's
 * schema checked the operator alone; what only the data says (a box taller than the images, a
 * Fourier operator on vectors) the family refuses with an InvalidOperatorError, the user's to fix.
 */
function familyFor(kind: string, config: Record<string, unknown>): OperatorFamily {
  try {
    return operatorFamily(kind, config);
  } catch (e) {
    if (!(e instanceof InvalidOperatorError)) throw e; // a bug in the operator keeps its stack
    throw new StageMismatchError(`corrupt: ${e.message}`, { cause: e });
  }
}
