/**
 * Linear observation operators y = A x + ε (docs/design.md §1): the shared interface.
 *
 * An {@link OperatorFamily} is a kind of operator with its configuration (shapes, keep
 * probability, kernel width, …). Its per-observation parameters (a mask, a matrix A_i) are plain
 * {@link NDArray}s so tasks can store them; {@link OperatorFamily.bind} turns parameters for a
 * batch of observations into a {@link BoundOperator} that applies A and Aᵀ to TF tensors
 * `[B, ...xShape]` ↔ `[B, ...yShape]`. `corrupt` draws fresh parameters and noise on the host,
 * one random stream per row ({@link RowStreams}), so results do not depend on sharding.
 *
 * Host float64 versions (`applyHost`, `adjointHost`, `denseRows`) serve the exact Gaussian
 * posterior and act as references for the TF kernels in tests.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { NDArray } from "../array.ts";
import type { RowStreams } from "../random.ts";

/** Operator kinds known to {@link operatorFamily}. */
export type OperatorKind = "projection" | "mask" | "box" | "blur" | "fourier";

/** Named parameter arrays of a batch of observations (e.g. `{ matrices: [N, m, D] }`). */
export type OperatorParams = Record<string, NDArray>;

/** An operator bound to the parameters of a batch of observations, acting on TF tensors. */
export interface BoundOperator {
  /** Number of observations the parameters cover, or null when they are shared by any batch. */
  readonly batch: number | null;
  /** Event shape of x (without the batch axis). */
  readonly xShape: readonly number[];
  /** Event shape of y (without the batch axis). */
  readonly yShape: readonly number[];
  /** A x for `x` of shape `[B, ...xShape]` → `[B, ...yShape]`. */
  apply(x: tf.Tensor): tf.Tensor;
  /** Aᵀ y for `y` of shape `[B, ...yShape]` → `[B, ...xShape]`. */
  adjoint(y: tf.Tensor): tf.Tensor;
  /** Free the parameter tensors held by this binding. */
  dispose(): void;
}

/**
 * The rows of A_i that carry information, as a dense float64 `rows × D` matrix, and which entries
 * of the flattened y they produce. For a mask only the kept entries appear (the others are
 * identically zero in A); for a projection all m rows.
 */
export interface DenseRows {
  /** Row-major `rows × cols` entries of the informative rows of A_i. */
  a: Float64Array;
  rows: number;
  /** D, the flattened size of x. */
  cols: number;
  /** Index into the flattened y_i of each row. */
  yIndex: Int32Array;
}

/**
 * AᵀA of one observation's operator, in the orthonormal basis Q where it is diagonal: AᵀA = Q diag(w) Qᵀ.
 * Masks (and boxes) are diagonal in the pixel basis (w = the mask); Fourier under-sampling is diagonal in the
 * basis of the orthonormal 2-D DFT of each channel. The low-rank Gaussian's exact posterior uses it
 * (docs/design.md §3): with an isotropic part of Σ, (c I + AᵀA/σ²)⁻¹ is a function of AᵀA.
 */
export interface NormalOperator {
  /** `pixel`: Q = I; `fourier`: Q = the orthonormal 2-D DFT of each channel of an `[H, W, C]` image. */
  basis: "pixel" | "fourier";
  /** The eigenvalues w of AᵀA, one per entry of the flattened x (length D), in Q's order. */
  weights: Float64Array;
  /**
   * Q diag(f(w)) Qᵀ v for a real v of length D, in float64: any function of AᵀA applied to v,
   * e.g. `applyFunction((w) => 1 / (c + w / s2), v)` = (c I + AᵀA/σ²)⁻¹ v.
   */
  applyFunction(f: (w: number) => number, v: Float64Array): Float64Array;
}

/** Result of {@link OperatorFamily.corrupt}. */
export interface Corruption {
  /** Observations `[N, ...yShape]`, float32. */
  y: NDArray<Float32Array>;
  /** Operator parameters drawn for these observations (shared ones included). */
  params: OperatorParams;
}

/** Where the randomness of {@link OperatorFamily.corrupt} comes from. */
export type CorruptionRng = RowStreams | number;

/** A kind of linear operator with its configuration. */
export interface OperatorFamily {
  readonly kind: OperatorKind;
  /** Event shape of x. */
  readonly xShape: readonly number[];
  /** Event shape of y. */
  readonly yShape: readonly number[];
  /** Names of parameters with one entry per observation (sliced with the rows); others are shared. */
  readonly perObservation: readonly string[];
  /** Bind parameters (for B observations, or shared) to TF tensors. The caller disposes the result. */
  bind(params: OperatorParams): BoundOperator;
  /**
   * Draw fresh operator parameters and Gaussian noise for each row of `x` `[N, ...xShape]`:
   * `y = A x + sigmaY ε`. `rng` is a {@link RowStreams} (one stream per row) or a seed, in which
   * case row r uses the stream of global row `firstRow + r`. Each row draws its parameters first,
   * then its noise, from its own stream.
   */
  corrupt(x: NDArray, rng: CorruptionRng, sigmaY: number, firstRow?: number): Corruption;
  /** A x on the host in float64 (reference implementation). */
  applyHost(x: NDArray, params: OperatorParams): NDArray<Float64Array>;
  /** Aᵀ y on the host in float64 (reference implementation). */
  adjointHost(y: NDArray, params: OperatorParams): NDArray<Float64Array>;
  /** Dense informative rows of A for observation `index` of `params`. */
  denseRows(params: OperatorParams, index: number): DenseRows;
  /**
   * AᵀA of observation `index` in the basis where it is diagonal, or null when the family has no such
   * basis (projection, blur): see {@link NormalOperator}.
   */
  normal(params: OperatorParams, index: number): NormalOperator | null;
  /** Parameters of rows `[start, stop)` (shared parameters are passed through). */
  sliceParams(params: OperatorParams, start: number, stop: number): OperatorParams;
  /**
   * Check parameter names, shapes, dtypes and finiteness for `n` observations; throws an error
   * naming the array and the first bad index.
   */
  validateParams(params: OperatorParams, n: number): void;
}
