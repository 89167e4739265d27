/**
 * Random masking (inpainting): y_i = m_i ⊙ (x_i + σ_y ε) with a fresh Bernoulli(keep) binary
 * mask m_i of the same shape as x per observation. A = diag(m_i) is self-adjoint.
 *
 * The noise is masked too, so unobserved entries of y are exactly 0: they carry no information
 * either way (their row of A is zero), and zeros keep stored observations and conditioning
 * inputs (Aᵀ y) clean. The posterior is identical to the unmasked-noise convention.
 *
 * Parameters: `mask`, uint8 `[N, ...xShape]` (1 = observed).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NDArray, numel, sliceRows } from "../array.ts";
import { batchOf, expectShape, requireParam, rowStreamsFor, unravel } from "./common.ts";
import type {
  BoundOperator,
  Corruption,
  CorruptionRng,
  DenseRows,
  OperatorFamily,
  OperatorParams,
} from "./types.ts";

/** Configuration of {@link maskOperator}. */
export interface MaskConfig {
  /** Event shape of x (and of y and of each mask). */
  xShape: readonly number[];
  /** Probability that an entry is observed. */
  keep: number;
}

/**
 * The masking family.
 *
 * @example
 * ```ts
 * const op = maskOperator({ xShape: [28, 28, 1], keep: 0.25 });
 * const { y, params } = op.corrupt(x, seed, 0.01); // params.mask: uint8 [N, 28, 28, 1]
 * const bound = op.bind(params);
 * const aty = bound.adjoint(tf.tensor(y.data, y.shape));
 * ```
 */
export function maskOperator(config: MaskConfig): OperatorFamily {
  const xShape = [...config.xShape];
  const d = numel(xShape);
  const keep = config.keep;
  if (!(keep >= 0 && keep <= 1)) throw new Error(`mask: keep probability must be in [0, 1], got ${keep}`);

  function maskOf(params: OperatorParams): NDArray {
    return requireParam(params, "mask", "mask");
  }

  const family: OperatorFamily = {
    kind: "mask",
    xShape,
    yShape: xShape,
    perObservation: ["mask"],

    bind(params: OperatorParams): BoundOperator {
      const mask = maskOf(params);
      const b = mask.shape[0];
      expectShape(mask, [b, ...xShape], "mask");
      const mt = tf.tensor(Float32Array.from(mask.data), [b, ...xShape]);
      function check(t: tf.Tensor, what: string): void {
        if (t.shape.length !== xShape.length + 1 || t.shape[0] !== b || t.size !== b * d) {
          throw new Error(`mask: ${what} has shape [${t.shape}], operator bound to [${b}, ${xShape}]`);
        }
      }
      const applyMask = (t: tf.Tensor, what: string): tf.Tensor => {
        check(t, what);
        return tf.mul(t, mt);
      };
      return {
        batch: b,
        xShape,
        yShape: xShape,
        apply: (x) => applyMask(x, "x"),
        adjoint: (y) => applyMask(y, "y"),
        dispose: () => mt.dispose(),
      };
    },

    corrupt(x: NDArray, rng: CorruptionRng, sigmaY: number, firstRow = 0): Corruption {
      const n = batchOf(x, xShape, "x");
      const rows = rowStreamsFor(rng, n, firstRow);
      const mask = new Uint8Array(n * d);
      const y = new Float32Array(n * d);
      for (let r = 0; r < n; r++) {
        const s = rows.streams[r];
        const base = r * d;
        for (let j = 0; j < d; j++) mask[base + j] = s.uniform() < keep ? 1 : 0;
        // Draw noise for every entry (masked or not) so a row's stream use is fixed.
        for (let j = 0; j < d; j++) {
          const e = s.normal();
          y[base + j] = mask[base + j] ? x.data[base + j] + sigmaY * e : 0;
        }
      }
      return {
        y: { shape: [n, ...xShape], data: y },
        params: { mask: { shape: [n, ...xShape], data: mask } },
      };
    },

    applyHost(x: NDArray, params: OperatorParams): NDArray<Float64Array> {
      const n = batchOf(x, xShape, "x");
      const mask = maskOf(params);
      expectShape(mask, [n, ...xShape], "mask");
      const y = new Float64Array(n * d);
      for (let i = 0; i < y.length; i++) y[i] = mask.data[i] ? x.data[i] : 0;
      return { shape: [n, ...xShape], data: y };
    },

    adjointHost(y: NDArray, params: OperatorParams): NDArray<Float64Array> {
      return family.applyHost(y, params);
    },

    denseRows(params: OperatorParams, index: number): DenseRows {
      const mask = maskOf(params).data.subarray(index * d, (index + 1) * d);
      let k = 0;
      for (let j = 0; j < d; j++) if (mask[j]) k++;
      const a = new Float64Array(k * d);
      const yIndex = new Int32Array(k);
      let r = 0;
      for (let j = 0; j < d; j++) {
        if (!mask[j]) continue;
        a[r * d + j] = 1;
        yIndex[r] = j;
        r++;
      }
      return { a, rows: k, cols: d, yIndex };
    },

    sliceParams(params: OperatorParams, start: number, stop: number): OperatorParams {
      return { ...params, mask: sliceRows(maskOf(params), start, stop) };
    },

    validateParams(params: OperatorParams, n: number): void {
      const mask = maskOf(params);
      expectShape(mask, [n, ...xShape], "mask");
      const data = mask.data;
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== 0 && data[i] !== 1) {
          throw new Error(
            `parameter array "mask" must be binary (0/1), found ${data[i]} at index [${
              unravel(i, mask.shape).join(", ")
            }]`,
          );
        }
      }
    },
  };
  return family;
}
