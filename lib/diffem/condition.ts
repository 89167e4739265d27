/**
 * DiffEM's condition c = encode(y, A) (docs/design.md §4): what a conditional denoiser d_θ(x_t, σ, c) sees of an
 * observation and its operator. The same encoding serves the M-step (re-corrupted samples) and the E-step
 * (the real observations), so it is recorded with the trained model and checked before sampling.
 *
 * Layouts:
 * - vectors x ∈ R^D (`xShape` [D]), `layout: "vector"`, c is one row of features:
 *   - projection: concat(y, flatten(A_i)), m + m·D features;
 *   - mask: concat(y, mask), 2·D features (y is already masked, so y = Aᵀy here);
 *   - blur: y alone, D features: the kernel is shared by every observation, so it carries no per-row
 *     information (a model trained for one kernel only knows that kernel; the E-step checks it is the same
 *     family configuration).
 * - images x ∈ R^{H×W×C}, `layout: "channels"`, c is extra input channels per pixel (`conditionChannels` of a
 *   U-Net): [Aᵀy, mask] (mask and box: C + C channels); [Aᵀy, column mask] (fourier: Aᵀy is the zero-filled
 *   inverse DFT, real, C channels, then 1 channel holding the k-space column mask m(l) expanded to H×W, pixel
 *   (i, j) gets m(j)); [Aᵀy] (blur). Projections of images are not encoded (A_i is D×m).
 *
 * @module
 */
import type { OperatorFamily, OperatorParams } from "../operators/mod.ts";
import { type NDArray, numel } from "../array.ts";

/**
 * How c is laid out, recorded in a conditional model's `model.json`.
 *
 * @example
 * ```ts
 * const enc: ConditionEncoding = { layout: "vector", operator: "mask", features: 10,
 *   parts: [{ name: "y", width: 5 }, { name: "mask", width: 5 }] };
 * ```
 */
export interface ConditionEncoding {
  /** `vector`: c is a row of features (MLP); `channels`: c is extra image channels (U-Net). */
  layout: "vector" | "channels";
  /** The operator kind it was built for. */
  operator: string;
  /** The parts of c in order, each with its width (features, or channels per pixel). */
  parts: { name: string; width: number }[];
  /** Total features per row (for `channels`: H·W·channels). */
  features: number;
  /** Channels per pixel (`channels` layout only). */
  channels?: number;
}

/**
 * The encoding of conditions for observations of `family`.
 *
 * @example
 * ```ts
 * conditionEncoding(projectionOperator({ xShape: [5], m: 2 }));
 * // { layout: "vector", operator: "projection", parts: [{ name: "y", width: 2 }, { name: "matrices", width: 10 }],
 * //   features: 12 }
 * ```
 */
export function conditionEncoding(family: OperatorFamily): ConditionEncoding {
  const d = numel(family.xShape);
  if (family.xShape.length === 1) {
    const y = { name: "y", width: numel(family.yShape) };
    const parts = family.kind === "projection"
      ? [y, { name: "matrices", width: numel(family.yShape) * d }]
      : family.kind === "mask"
      ? [y, { name: "mask", width: d }]
      : [y];
    return {
      layout: "vector",
      operator: family.kind,
      parts,
      features: parts.reduce((a, p) => a + p.width, 0),
    };
  }
  if (family.kind === "projection") {
    throw new Error(
      `conditions of projected images are not supported (x has shape [${family.xShape}]): use a mask or blur operator`,
    );
  }
  const c = family.xShape.length === 3 ? family.xShape[2] : 1;
  const parts = [{ name: "adjoint_y", width: c }];
  if (family.kind === "mask" || family.kind === "box") parts.push({ name: "mask", width: c });
  if (family.kind === "fourier") parts.push({ name: "columns", width: 1 });
  const channels = parts.reduce((a, p) => a + p.width, 0);
  return { layout: "channels", operator: family.kind, parts, features: (d / c) * channels, channels };
}

/**
 * The conditions of N observations, `[N, features]` float32 (row i from y_i and the operator parameters of
 * row i; shared parameters such as a blur kernel apply to every row).
 *
 * @example
 * ```ts
 * const { y, params } = family.corrupt(x, seed, 0.01);
 * const c = encodeCondition(family, params, y); // [N, m + m·D] for a projection
 * ```
 */
export function encodeCondition(
  family: OperatorFamily,
  params: OperatorParams,
  y: NDArray,
): NDArray<Float32Array> {
  const enc = conditionEncoding(family);
  const n = y.shape[0];
  const yw = numel(family.yShape);
  if (y.data.length !== n * yw) {
    throw new Error(`encodeCondition: y has shape [${y.shape}], expected [N, ${family.yShape}]`);
  }
  const out = new Float32Array(n * enc.features);
  if (enc.layout === "vector") {
    for (let i = 0; i < n; i++) {
      let at = i * enc.features;
      for (const part of enc.parts) {
        const src = part.name === "y" ? y : params[part.name];
        if (!src) throw new Error(`encodeCondition: the ${family.kind} parameters lack "${part.name}"`);
        if (src.data.length !== n * part.width) {
          throw new Error(
            `encodeCondition: "${part.name}" has shape [${src.shape}], expected ${n} rows of ${part.width}`,
          );
        }
        for (let j = 0; j < part.width; j++) out[at + j] = src.data[i * part.width + j];
        at += part.width;
      }
    }
    return { shape: [n, enc.features], data: out };
  }
  // Channels: pixel p of row i holds [Aᵀy channels…, mask channels… | column mask].
  const c = enc.parts[0].width, channels = enc.channels!;
  const pixels = numel(family.xShape) / c;
  const aty = family.adjointHost(y, params).data;
  const extra = enc.parts[1];
  const source = extra ? params[extra.name] : null;
  if (extra && !source) {
    throw new Error(`encodeCondition: the ${family.kind} parameters lack "${extra.name}"`);
  }
  const w = family.xShape[1];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < pixels; p++) {
      const src = (i * pixels + p) * c, dst = (i * pixels + p) * channels;
      for (let k = 0; k < c; k++) out[dst + k] = aty[src + k];
      if (!source) continue;
      if (extra.name === "mask") { for (let k = 0; k < c; k++) out[dst + c + k] = source.data[src + k]; }
      else out[dst + c] = source.data[source.shape.length === 1 ? p % w : i * w + (p % w)];
    }
  }
  return { shape: [n, enc.features], data: out };
}

/**
 * Throw unless `recorded` (from a trained model) is the encoding of `family` (the observations to sample).
 *
 * @example
 * ```ts
 * checkConditionEncoding(model.condition, obs.family, "stage em[2].fit");
 * ```
 */
export function checkConditionEncoding(
  recorded: ConditionEncoding,
  family: OperatorFamily,
  what: string,
): void {
  const actual = conditionEncoding(family);
  if (JSON.stringify(actual) !== JSON.stringify(recorded)) {
    throw new Error(
      `${what} was trained on conditions ${JSON.stringify(recorded)}, but these observations encode as ${
        JSON.stringify(actual)
      }: wire the observations it was trained for`,
    );
  }
}
