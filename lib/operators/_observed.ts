/**
 * Which entries of y carry information, for the families whose unobserved entries are exactly 0.
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import { numel } from "../array.ts";
import type { OperatorFamily, OperatorParams } from "./types.ts";

/**
 * 1 for the entries of y that are observed, per row, for the families that zero the others (mask and box: the
 * mask; fourier: every entry of a sampled k-space column), or null when every entry is observed.
 *
 * @example
 * ```ts
 * observedEntries(fourierOperator({ xShape: [4, 4] }), { columns }, 2); // [2, 4, 4, 2] of 0/1
 * ```
 */
export function observedEntries(
  family: OperatorFamily,
  params: OperatorParams,
  n: number,
): ArrayLike<number> | null {
  if (family.kind === "mask" || family.kind === "box") return params.mask.data;
  if (family.kind !== "fourier") return null;
  const w = family.xShape[1], yWidth = numel(family.yShape), perColumn = yWidth / (family.xShape[0] * w);
  const columns = params.columns;
  const out = new Uint8Array(n * yWidth);
  for (let i = 0; i < out.length; i++) {
    const row = Math.floor(i / yWidth), l = Math.floor((i % yWidth) / perColumn) % w;
    out[i] = columns.data[columns.shape.length === 1 ? l : row * w + l];
  }
  return out;
}
