/**
 * Helpers shared by the operator implementations: shapes, row slicing, parameter validation.
 *
 * @module
 */
import { RowStreams } from "../random.ts";
import { type NDArray, numel } from "../array.ts";
import type { CorruptionRng, OperatorParams } from "./types.ts";

/**
 * The per-row streams for `n` rows: the given {@link RowStreams}, or fresh ones for rows
 * `firstRow .. firstRow + n - 1` of `seed`.
 *
 * @example
 * ```ts
 * const rows = rowStreamsFor(7, 10, 4).streams; // global rows 4..13 of seed 7
 * ```
 */
export function rowStreamsFor(rng: CorruptionRng, n: number, firstRow = 0): RowStreams {
  if (typeof rng === "number") return new RowStreams(rng, firstRow, n);
  if (rng.streams.length !== n) {
    throw new Error(`corrupt: ${rng.streams.length} row streams given for ${n} rows`);
  }
  return rng;
}

/**
 * Check that `x` is `[N, ...eventShape]` and return N.
 *
 * @example
 * ```ts
 * batchOf({ shape: [3, 5], data: new Float32Array(15) }, [5], "x"); // 3
 * ```
 */
export function batchOf(x: NDArray, eventShape: readonly number[], name: string): number {
  const ok = x.shape.length === eventShape.length + 1 && eventShape.every((s, i) => x.shape[i + 1] === s);
  if (!ok) throw new Error(`${name} has shape [${x.shape}], expected [N, ${eventShape.join(", ")}]`);
  if (x.data.length !== numel(x.shape)) {
    throw new Error(`${name}: ${x.data.length} values for shape [${x.shape}]`);
  }
  return x.shape[0];
}

/**
 * Fetch a named parameter or throw naming what is missing.
 *
 * @example
 * ```ts
 * const m = requireParam({ mask: { shape: [1, 2], data: new Uint8Array(2) } }, "mask", "mask");
 * ```
 */
export function requireParam(params: OperatorParams, name: string, kind: string): NDArray {
  const p = params[name];
  if (!p) {
    throw new Error(
      `${kind} operator: parameter array "${name}" is missing (got: ${
        Object.keys(params).join(", ") || "none"
      })`,
    );
  }
  return p;
}

/**
 * Check shape equality, naming the array.
 *
 * @example
 * ```ts
 * expectShape({ shape: [2, 3], data: new Float32Array(6) }, [2, 3], "matrices");
 * ```
 */
export function expectShape(a: NDArray, shape: readonly number[], name: string): void {
  if (a.shape.length !== shape.length || a.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`parameter array "${name}" has shape [${a.shape}], expected [${shape.join(", ")}]`);
  }
  if (a.data.length !== numel(shape)) {
    throw new Error(`parameter array "${name}": ${a.data.length} values for shape [${shape}]`);
  }
}

/**
 * Throw at the first NaN/±Inf of `a`, naming the array and the multi-index.
 *
 * @example
 * ```ts
 * expectFinite({ shape: [2], data: Float32Array.of(1, NaN) }, "y"); // throws: y[1] is NaN
 * ```
 */
export function expectFinite(a: NDArray, name: string): void {
  const d = a.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new Error(
        `array "${name}" has a non-finite value (${d[i]}) at index [${unravel(i, a.shape).join(", ")}]`,
      );
    }
  }
}

/**
 * Flat index → multi-index.
 *
 * @example
 * ```ts
 * unravel(5, [2, 3]); // [1, 2]
 * ```
 */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return idx;
}
