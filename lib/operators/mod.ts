/**
 * Linear observation operators y = A x + ε: the interface ({@link OperatorFamily}), the five
 * families (projection, mask, box, blur, fourier), and the registry {@link operatorFamily}, one entry point
 * from a kind name and a plain configuration object (validated) to a family.
 *
 * @example
 * ```ts
 * import { operatorFamily } from "./mod.ts";
 * const op = operatorFamily("mask", { xShape: [5], keep: 0.5 });
 * const { y, params } = op.corrupt(x, seed, 0.01);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { blurOperator } from "./_blur.ts";
import { boxOperator } from "./_box.ts";
import { fourierOperator } from "./_fourier.ts";
import { maskOperator } from "./_mask.ts";
import { projectionOperator } from "./_projection.ts";
import { InvalidOperatorError } from "./_common.ts";
import type { OperatorFamily, OperatorKind } from "./types.ts";

export type * from "./types.ts";
export { expectBinary, expectFinite, InvalidOperatorError, rowStreamsFor } from "./_common.ts";
export { observedEntries } from "./_observed.ts";
export { channelsOf } from "./_mask.ts";
export { blurOperator, boxOperator, fourierOperator, maskOperator, projectionOperator };

const shape = z.array(z.number().int().positive()).min(1);

/** Schema of an operator configuration (`kind` plus the kind's fields). */
const operatorConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("projection"), xShape: shape, m: z.number().int().positive() }).strict(),
  z.object({ kind: z.literal("mask"), xShape: shape, keep: z.number().min(0).max(1) }).strict(),
  z.object({
    kind: z.literal("blur"),
    xShape: shape,
    width: z.number().positive().default(1),
    size: z.number().int().positive().refine((k) => k % 2 === 1, "kernel size must be odd").optional(),
    kernel: z.array(z.number()).optional(),
  }).strict(),
  z.object({
    kind: z.literal("box"),
    xShape: shape,
    height: z.number().int().positive().optional(),
    width: z.number().int().positive().optional(),
  }).strict(),
  z.object({
    kind: z.literal("fourier"),
    xShape: shape,
    acceleration: z.number().min(1).default(4),
    center: z.number().min(0).max(1).default(0.08),
    shared: z.boolean().default(false),
  }).strict(),
]);

/** Kinds known to the registry. */
const operatorKinds: readonly OperatorKind[] = ["projection", "mask", "box", "blur", "fourier"];

/**
 * The operator family named `kind` with configuration `config` (validated; `kind` inside
 * `config` is optional and must agree when present).
 *
 * @example
 * ```ts
 * const op = operatorFamily("projection", { xShape: [5], m: 2 });
 * const { y, params } = op.corrupt(x, seed, 0.01);
 * ```
 */
export function operatorFamily(kind: string, config: Record<string, unknown>): OperatorFamily {
  if (!operatorKinds.includes(kind as OperatorKind)) {
    throw new InvalidOperatorError(`unknown operator kind "${kind}" (known: ${operatorKinds.join(", ")})`);
  }
  if (config.kind !== undefined && config.kind !== kind) {
    throw new InvalidOperatorError(`operator config says kind "${config.kind}" but "${kind}" was asked for`);
  }
  const parsed = operatorConfigSchema.safeParse({ ...config, kind });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`).join(
      "; ",
    );
    throw new InvalidOperatorError(`invalid ${kind} operator config: ${issues}`);
  }
  const c = parsed.data;
  switch (c.kind) {
    case "projection":
      return projectionOperator(c);
    case "mask":
      return maskOperator(c);
    case "blur":
      return blurOperator(c);
    case "box":
      return boxOperator(c);
    case "fourier":
      return fourierOperator(c);
  }
}
