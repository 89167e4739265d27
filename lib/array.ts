/**
 * The host array every layer passes around: a dense row-major tensor as a shape and a typed
 * array, with the few helpers everything needs (element count, row slices). One home for it, below
 * both the engine (which stores arrays) and the science (which computes them).
 *
 * @example
 * ```ts
 * import { type NDArray, numel, sliceRows } from "./array.ts";
 * const x: NDArray = { shape: [4, 2], data: new Float32Array(8) };
 * numel(x.shape); // 8
 * sliceRows(x, 1, 3).shape; // [2, 2]
 * ```
 *
 * @module
 */

/** Element types the store keeps. */
export type DType = "float32" | "float64" | "int32" | "uint8";

/** Typed array for each {@link DType}. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A dense row-major tensor on the host. */
export interface NDArray<T extends TypedArray = TypedArray> {
  shape: number[];
  data: T;
}

/**
 * Product of a shape's extents (1 for a scalar's empty shape).
 *
 * @example
 * ```ts
 * numel([28, 28, 1]); // 784
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * Rows `[start, stop)` along axis 0 of an array, sharing its buffer (no copy).
 *
 * @example
 * ```ts
 * const r = sliceRows({ shape: [4, 2], data: new Float32Array(8) }, 1, 3); // shape [2, 2]
 * ```
 */
export function sliceRows<T extends TypedArray>(a: NDArray<T>, start: number, stop: number): NDArray<T> {
  const n = a.shape[0];
  if (!(0 <= start && start <= stop && stop <= n)) {
    throw new Error(`rows [${start}, ${stop}) out of range for an array of ${n} rows`);
  }
  const row = numel(a.shape.slice(1));
  return { shape: [stop - start, ...a.shape.slice(1)], data: a.data.subarray(start * row, stop * row) as T };
}

/**
 * The same data as `[N, D]` rows, D the product of the trailing axes (no copy): what the vector metrics read.
 *
 * @example
 * ```ts
 * flattenRows({ shape: [4, 2, 3], data: new Float32Array(24) }).shape; // [4, 6]
 * ```
 */
export function flattenRows<T extends TypedArray>(a: NDArray<T>): NDArray<T> {
  return { shape: [a.shape[0], numel(a.shape.slice(1))], data: a.data };
}
