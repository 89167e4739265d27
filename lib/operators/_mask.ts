/**
 * Random masking (inpainting): y_i = m_i ⊙ (x_i + σ_y ε) with a fresh Bernoulli(keep) binary
 * mask m_i of the same shape as x per observation. A = diag(m_i) is self-adjoint. On images
 * `[H, W, C]` one Bernoulli draw per pixel is shared by its C channels (a pixel is observed or not);
 * vectors and single-channel images draw one per entry, as before.
 *
 * The noise is masked too, so unobserved entries of y are exactly 0: they carry no information
 * either way (their row of A is zero), and zeros keep stored observations and conditioning
 * inputs (Aᵀ y) clean. The posterior is identical to the unmasked-noise convention.
 *
 * Parameters: `mask`, uint8 `[N, ...xShape]` (1 = observed).
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type NDArray, sliceRows } from "../array.ts";
import {
  batchOf,
  type EventSize,
  eventSize,
  expectBinary,
  expectShape,
  type FamilyMethods,
  familyOf,
  InvalidOperatorError,
  requireParam,
  rowStreamsFor,
} from "./_common.ts";
import type { Rng } from "../random.ts";
import type { OperatorFamily, OperatorParams } from "./types.ts";

/** Configuration of {@link maskOperator}. */
export interface MaskConfig {
  /** Event shape of x (and of y and of each mask). */
  xShape: readonly number[];
  /** Probability that an entry is observed. */
  keep: number;
}

/**
 * A masking family's sizes and how it draws one row's mask, resolved once from its configuration. The
 * box family (`_box.ts`) is the same operator with another `drawMask`.
 */
export interface Mask extends EventSize {
  kind: "mask" | "box";
  /** Fill `out` (D entries, one row's mask, 1 = observed) from the row's stream `s`. */
  drawMask(s: Rng, out: Uint8Array): void;
}

/**
 * Channels of an event shape: C for images `[H, W, C]`, 1 for vectors and `[H, W]`.
 *
 * @example
 * ```ts
 * channelsOf([28, 28, 3]); // 3
 * ```
 */
export function channelsOf(xShape: readonly number[]): number {
  return xShape.length === 3 ? xShape[2] : 1;
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
  const { xShape, d } = eventSize(config.xShape);
  const keep = config.keep;
  if (!(keep >= 0 && keep <= 1)) {
    throw new InvalidOperatorError(`mask: keep probability must be in [0, 1], got ${keep}`);
  }
  const c = channelsOf(xShape);
  // One uniform per pixel, in pixel order; its channels share the outcome.
  const drawMask = (s: Rng, out: Uint8Array): void => {
    for (let p = 0; p < d / c; p++) {
      const kept = s.uniform() < keep ? 1 : 0;
      for (let k = 0; k < c; k++) out[p * c + k] = kept;
    }
  };
  return maskFamily({ xShape, d, kind: "mask", drawMask });
}

/**
 * A family with A = diag(mask) whose masks `m` draws: the mask and box families.
 *
 * @example
 * ```ts
 * const family = maskFamily({ xShape: [4], d: 4, kind: "mask", drawMask: (s, out) => out.fill(1) });
 * ```
 */
export function maskFamily(m: Mask): OperatorFamily {
  return familyOf(
    m,
    { kind: m.kind, xShape: m.xShape, yShape: m.xShape, perObservation: ["mask"] },
    maskMethods,
  );
}

function maskOf(params: OperatorParams, kind = "mask"): NDArray {
  return requireParam(params, "mask", kind);
}

/** A x = m ⊙ x on the host. */
function applyMaskHost({ xShape, d, kind }: Mask, x: NDArray, params: OperatorParams): NDArray<Float64Array> {
  const n = batchOf(x, xShape, "x");
  const mask = maskOf(params, kind);
  expectShape(mask, [n, ...xShape], "mask");
  const y = new Float64Array(n * d);
  for (let i = 0; i < y.length; i++) y[i] = mask.data[i] ? x.data[i] : 0;
  return { shape: [n, ...xShape], data: y };
}

/** The masking family's methods, over its resolved {@link Mask} sizes. */
const maskMethods: FamilyMethods<Mask> = {
  bind({ xShape, d, kind }, params) {
    const mask = maskOf(params, kind);
    const b = mask.shape[0];
    expectShape(mask, [b, ...xShape], "mask");
    const mt = tf.tensor(Float32Array.from(mask.data), [b, ...xShape]);
    function check(t: tf.Tensor, what: string): void {
      if (t.shape.length !== xShape.length + 1 || t.shape[0] !== b || t.size !== b * d) {
        throw new Error(`${kind}: ${what} has shape [${t.shape}], operator bound to [${b}, ${xShape}]`);
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
  corrupt({ xShape, d, drawMask }, x, rng, sigmaY, firstRow = 0) {
    const n = batchOf(x, xShape, "x");
    const rows = rowStreamsFor(rng, n, firstRow);
    const mask = new Uint8Array(n * d);
    const y = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const s = rows.streams[r];
      const base = r * d;
      drawMask(s, mask.subarray(base, base + d));
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
  applyHost: applyMaskHost,
  adjointHost: applyMaskHost, // A = diag(m) is self-adjoint
  denseRows({ d, kind }, params, index) {
    const mask = maskOf(params, kind).data.subarray(index * d, (index + 1) * d);
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
  normal({ d, kind }, params, index) {
    const weights = Float64Array.from(maskOf(params, kind).data.subarray(index * d, (index + 1) * d));
    return {
      basis: "pixel",
      weights,
      applyFunction: (f, v) => v.map((vi, i) => f(weights[i]) * vi),
    };
  },
  sliceParams: ({ kind }, params, start, stop) => ({
    ...params,
    mask: sliceRows(maskOf(params, kind), start, stop),
  }),
  validateParams({ xShape, kind }, params, n) {
    const mask = maskOf(params, kind);
    expectShape(mask, [n, ...xShape], "mask");
    expectBinary(mask, `parameter array "mask"`);
  },
};
