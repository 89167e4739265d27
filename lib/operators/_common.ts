/**
 * Helpers shared by the operator implementations: how a family is assembled from its methods,
 * shapes, row streams, parameter validation. Private to lib/operators (`mod.ts` re-exports what
 * datasets and the Gaussian posterior use).
 *
 * @module
 */
import { RowStreams } from "../random.ts";
import { type NDArray, numel } from "../array.ts";
import type { CorruptionRng, OperatorFamily, OperatorParams } from "./types.ts";

/** The parts of an {@link OperatorFamily} that are not methods. */
type FamilyHead = Pick<OperatorFamily, "kind" | "xShape" | "yShape" | "perObservation">;

/**
 * An operator's configuration, parameters or data that it refuses (a keep probability outside [0, 1], a
 * box taller than the image, a parameter array of the wrong shape, a NaN in the data): the caller's input
 * to fix. The checks a family runs when it is built or validates parameters throw it; a shape mismatch
 * inside `apply` stays a plain Error (a bug of the caller's code). Callers that read user data turn it into
 * their own error without a stack trace.
 *
 * @example
 * ```ts
 * try { operatorFamily("mask", { xShape: [4], keep: 2 }); } catch (e) { e instanceof InvalidOperatorError; } // true
 * ```
 */
export class InvalidOperatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidOperatorError";
  }
}

/**
 * An operator family's methods as functions of its resolved configuration `C` (sizes, default
 * parameters): each method is a short standalone function instead of a closure in one long
 * factory.
 */
export type FamilyMethods<C> = {
  [K in Exclude<keyof OperatorFamily, keyof FamilyHead>]: (
    c: C,
    ...args: Parameters<OperatorFamily[K]>
  ) => ReturnType<OperatorFamily[K]>;
};

/** x's event shape and its flattened size D, the start of every family's configuration. */
export interface EventSize {
  xShape: number[];
  /** D, the flattened size of x. */
  d: number;
}

/**
 * The {@link EventSize} of `xShape` (copied).
 *
 * @example
 * ```ts
 * eventSize([28, 28, 1]); // { xShape: [28, 28, 1], d: 784 }
 * ```
 */
export function eventSize(xShape: readonly number[]): EventSize {
  const copy = [...xShape];
  return { xShape: copy, d: numel(copy) };
}

/**
 * The family with configuration `c`: `head` and `methods` applied to `c`.
 *
 * @example
 * ```ts
 * const family = familyOf(sizes, { kind: "mask", xShape, yShape: xShape, perObservation: ["mask"] }, maskMethods);
 * ```
 */
export function familyOf<C>(c: C, head: FamilyHead, methods: FamilyMethods<C>): OperatorFamily {
  return {
    ...head,
    bind: (params) => methods.bind(c, params),
    corrupt: (x, rng, sigmaY, firstRow) => methods.corrupt(c, x, rng, sigmaY, firstRow),
    applyHost: (x, params) => methods.applyHost(c, x, params),
    adjointHost: (y, params) => methods.adjointHost(c, y, params),
    denseRows: (params, index) => methods.denseRows(c, params, index),
    normal: (params, index) => methods.normal(c, params, index),
    sliceParams: (params, start, stop) => methods.sliceParams(c, params, start, stop),
    validateParams: (params, n) => methods.validateParams(c, params, n),
  };
}

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
    throw new InvalidOperatorError(
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
    throw new InvalidOperatorError(
      `parameter array "${name}" has shape [${a.shape}], expected [${shape.join(", ")}]`,
    );
  }
  if (a.data.length !== numel(shape)) {
    throw new InvalidOperatorError(`parameter array "${name}": ${a.data.length} values for shape [${shape}]`);
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
      throw new InvalidOperatorError(
        `array "${name}" has a non-finite value (${d[i]}) at index [${unravel(i, a.shape).join(", ")}]`,
      );
    }
  }
}

/**
 * Throw at the first entry of `a` that is neither 0 nor 1, naming it (`what`, e.g.
 * `array "mask"`) and the multi-index.
 *
 * @example
 * ```ts
 * expectBinary({ shape: [2], data: Uint8Array.of(1, 2) }, `array "mask"`); // throws: found 2 at index [1]
 * ```
 */
export function expectBinary(a: NDArray, what: string): void {
  const data = a.data;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0 && data[i] !== 1) {
      throw new InvalidOperatorError(
        `${what} must be binary (0/1), found ${data[i]} at index [${unravel(i, a.shape).join(", ")}]`,
      );
    }
  }
}

/** Flat index → multi-index (row-major). */
function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) {
    idx[k] = flat % shape[k];
    flat = Math.floor(flat / shape[k]);
  }
  return idx;
}

/**
 * `[0, 1, …, n − 1]`: the y index of `DenseRows` when every row of A is informative.
 *
 * @example
 * ```ts
 * rangeIndex(3); // Int32Array [0, 1, 2]
 * ```
 */
export function rangeIndex(n: number): Int32Array {
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  return index;
}
