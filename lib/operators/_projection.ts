/**
 * Random projection: y_i = A_i x_i + σ_y ε with a fresh A_i ∈ R^{m×D} per observation whose rows
 * are Gaussian directions normalised to unit norm (DiEM's low-dimensional benchmark: D = 5,
 * m = 2). x of any event shape is flattened to D.
 *
 * Parameters: `matrices`, float32 `[N, m, D]`.
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NDArray, numel, sliceRows } from "../array.ts";
import {
  batchOf,
  type EventSize,
  eventSize,
  expectFinite,
  expectShape,
  type FamilyMethods,
  familyOf,
  InvalidOperatorError,
  rangeIndex,
  requireParam,
  rowStreamsFor,
} from "./_common.ts";
import type { OperatorFamily, OperatorParams } from "./types.ts";

/** Configuration of {@link projectionOperator}. */
export interface ProjectionConfig {
  /** Event shape of x (flattened to D). */
  xShape: readonly number[];
  /** Number of rows m of each A_i. */
  m: number;
}

/** A projection family's sizes, resolved once from its {@link ProjectionConfig}. */
interface Projection extends EventSize {
  yShape: number[];
  /** Rows of each A_i. */
  m: number;
}

/**
 * The projection family for x of shape `xShape` and m measurements per observation.
 *
 * @example
 * ```ts
 * const op = projectionOperator({ xShape: [5], m: 2 });
 * const { y, params } = op.corrupt(x, 42, 0.01); // params.matrices: [N, 2, 5]
 * const bound = op.bind(params);
 * const ax = bound.apply(tf.tensor2d(x.data, x.shape)); // [N, 2]
 * bound.dispose();
 * ```
 */
export function projectionOperator(config: ProjectionConfig): OperatorFamily {
  const { xShape, d } = eventSize(config.xShape);
  const m = config.m;
  if (!Number.isInteger(m) || m < 1) {
    throw new InvalidOperatorError(`projection: m must be a positive integer, got ${m}`);
  }
  if (!(d >= 1)) throw new InvalidOperatorError(`projection: empty xShape [${xShape}]`);
  const p: Projection = { xShape, yShape: [m], d, m };
  return familyOf(
    p,
    { kind: "projection", xShape, yShape: p.yShape, perObservation: ["matrices"] },
    projectionMethods,
  );
}

function matricesOf(params: OperatorParams): NDArray {
  return requireParam(params, "matrices", "projection");
}

/** The `matrices` parameter, checked to be `[n, m, D]`. */
function matricesFor(p: Projection, params: OperatorParams, n: number): NDArray {
  const mats = matricesOf(params);
  expectShape(mats, [n, p.m, p.d], "matrices");
  return mats;
}

/** The projection family's methods, over its resolved {@link Projection} sizes. */
const projectionMethods: FamilyMethods<Projection> = {
  bind({ xShape, yShape, d, m }, params) {
    const mats = matricesOf(params);
    const b = mats.shape[0];
    expectShape(mats, [b, m, d], "matrices");
    const a = tf.tensor3d(Float32Array.from(mats.data), [b, m, d]);
    function checkBatch(t: tf.Tensor, what: string, event: number[]): void {
      if (t.shape[0] !== b || numel(t.shape.slice(1)) !== numel(event)) {
        throw new Error(`projection: ${what} has shape [${t.shape}], operator bound to [${b}, ${event}]`);
      }
    }
    return {
      batch: b,
      xShape,
      yShape,
      apply(x: tf.Tensor): tf.Tensor {
        checkBatch(x, "x", xShape);
        // Elementwise product and a sum rather than a batched matmul: tiny m×D blocks, and no
        // transposed matmul (slow on wasm) in either direction.
        return tf.tidy(() => tf.sum(tf.mul(a, tf.reshape(x, [b, 1, d])), 2));
      },
      adjoint(y: tf.Tensor): tf.Tensor {
        checkBatch(y, "y", yShape);
        return tf.tidy(() => tf.reshape(tf.sum(tf.mul(a, tf.reshape(y, [b, m, 1])), 1), [b, ...xShape]));
      },
      dispose(): void {
        a.dispose();
      },
    };
  },
  corrupt({ xShape, d, m }, x, rng, sigmaY, firstRow = 0) {
    const n = batchOf(x, xShape, "x");
    const rows = rowStreamsFor(rng, n, firstRow);
    const mats = new Float32Array(n * m * d);
    const y = new Float32Array(n * m);
    const row = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      const s = rows.streams[r];
      for (let i = 0; i < m; i++) {
        let norm = 0;
        for (let j = 0; j < d; j++) {
          row[j] = s.normal();
          norm += row[j] * row[j];
        }
        norm = Math.sqrt(norm);
        let acc = 0;
        for (let j = 0; j < d; j++) {
          const aij = row[j] / norm;
          mats[(r * m + i) * d + j] = aij;
          // Measure with the stored float32 entries so y is exactly A x + noise for the A we keep.
          acc += Math.fround(aij) * x.data[r * d + j];
        }
        y[r * m + i] = acc;
      }
      for (let i = 0; i < m; i++) y[r * m + i] += sigmaY * s.normal();
    }
    return { y: { shape: [n, m], data: y }, params: { matrices: { shape: [n, m, d], data: mats } } };
  },
  applyHost(p, x, params) {
    const { d, m } = p;
    const n = batchOf(x, p.xShape, "x");
    const mats = matricesFor(p, params, n);
    const y = new Float64Array(n * m);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < m; i++) {
        let acc = 0;
        for (let j = 0; j < d; j++) acc += mats.data[(r * m + i) * d + j] * x.data[r * d + j];
        y[r * m + i] = acc;
      }
    }
    return { shape: [n, m], data: y };
  },
  adjointHost(p, y, params) {
    const { d, m } = p;
    const n = batchOf(y, p.yShape, "y");
    const mats = matricesFor(p, params, n);
    const x = new Float64Array(n * d);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < m; i++) {
        const yi = y.data[r * m + i];
        for (let j = 0; j < d; j++) x[r * d + j] += mats.data[(r * m + i) * d + j] * yi;
      }
    }
    return { shape: [n, ...p.xShape], data: x };
  },
  denseRows({ d, m }, params, index) {
    const mats = matricesOf(params);
    const a = Float64Array.from(mats.data.subarray(index * m * d, (index + 1) * m * d));
    return { a, rows: m, cols: d, yIndex: rangeIndex(m) };
  },
  normal: () => null, // AᵀA has no known diagonalising basis here
  sliceParams: (_p, params, start, stop) => ({
    ...params,
    matrices: sliceRows(matricesOf(params), start, stop),
  }),
  validateParams(p, params, n) {
    const mats = matricesFor(p, params, n);
    if (!(mats.data instanceof Float32Array || mats.data instanceof Float64Array)) {
      throw new InvalidOperatorError(`parameter array "matrices" must be float32 or float64`);
    }
    expectFinite(mats, "matrices");
  },
};
