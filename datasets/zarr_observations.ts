/**
 * Read a researcher's own observations from a Zarr group (format v2 or v3, local directory).
 *
 * Expected layout (N observations, x of event shape `xShape`, D = prod(xShape)):
 *
 * ```
 * group/                      attributes (all optional except where noted):
 *   .zattrs / zarr.json         operator: "projection" | "mask" | "box" | "blur" | "fourier"  (inferred from
 *                                         the arrays when absent; "box" must be said: its array is a mask)
 *                               x_shape:  [..]   event shape of x (inferred when absent, see below)
 *                               sigma_y:  number  noise std (or the array below; one of the two is required)
 *   y         [N, ...yShape]    float32/float64 observations                               (required)
 *   matrices  [N, m, D]         projection: one A_i per observation, or [m, D] shared by all
 *   mask      [N, ...xShape]    mask: 0/1 (bool, any int or float dtype), or [...xShape] shared
 *   kernel    [K] or [K, K]     blur: the shared kernel (odd K); y has x's shape
 *   columns   [N, W] or [W]     fourier: 0/1 sampled k-space columns of images [H, W, C] (per observation, or
 *                               shared); y [N, H, W, C, 2] holds real and imaginary parts
 *   sigma_y   [] or [1] or [N]  noise std as an array (a per-observation array must be constant)
 *   x         [N, ...xShape]    optional ground truth, for synthetic benchmarks
 * ```
 *
 * Inference: `matrices` → projection with xShape [D] (or `x_shape`); `mask` → mask with xShape =
 * the mask's event shape and y of the same shape; `kernel` → blur with xShape = y's event shape;
 * `columns` → fourier with xShape = y's event shape without its last axis. Images are `[H, W, C]`
 * (or `[H, W]`), masks of `box` observations are masks (1 = observed) like any other.
 * Shared parameters are broadcast to N rows. A mask's y entries where the mask is 0 are
 * ignored (set to 0), matching how the mask operator corrupts, and so are fourier y entries outside the
 * sampled columns. What fresh corruptions (DiffEM's M-step) draw is inferred: the mask family's keep
 * probability is the observed fraction; a box family's box the largest hidden extents; a fourier family's
 * acceleration W / (mean sampled columns) and centre band the low frequencies sampled in every observation.
 *
 * Validation throws an {@link InvalidObservationsError} that names the array and the offending index: missing arrays, missing
 * or truncated chunks, shape mismatches between y and the operator, dtypes other than float32 and
 * float64 (except for a mask), arrays with no values or too large for memory (checked before
 * reading), NaN/±Inf values, non-binary masks, projection rows that are all zero, σ_y varying,
 * non-positive or outside [1e-18, 1e18].
 *
 * @module
 */
import * as zarr from "zarrita";
import {
  checked,
  CheckedStore,
  finiteFloat32,
  FLOAT_DTYPES,
  InvalidObservationsError,
  readNode,
  toNumbers,
} from "./_zarr_read.ts";
import { buildOperator, type OperatorArrays, operatorKind } from "./_zarr_operators.ts";
import type { NDArray } from "../lib/array.ts";
import type { OperatorFamily, OperatorKind, OperatorParams } from "../lib/operators/mod.ts";

export { InvalidObservationsError } from "./_zarr_read.ts";

/** Observations read and validated from a Zarr group. */
export interface ZarrObservations {
  kind: OperatorKind;
  /** Event shape of x. */
  xShape: number[];
  /** The family's configuration (xShape included): `operatorFamily(kind, config)` rebuilds it. */
  config: Record<string, unknown>;
  /** The operator family (bind `params`, or slices of them, to apply it). */
  family: OperatorFamily;
  /** Operator parameters with per-observation arrays broadcast to N rows. */
  params: OperatorParams;
  /** Observations `[N, ...yShape]`, float32. */
  y: NDArray<Float32Array>;
  /** Noise standard deviation. */
  sigmaY: number;
  /** Ground truth when the group has an `x` array. */
  x?: NDArray<Float32Array>;
  /** Zarr format of the group. */
  zarrFormat: 2 | 3;
}

/**
 * Read and validate observations from the Zarr group at `path`.
 *
 * @example
 * ```ts
 * const obs = await readZarrObservations("my_data.zarr");
 * const post = gaussianPosterior(prior, { family: obs.family, params: obs.params, y: obs.y, sigmaY: obs.sigmaY });
 * ```
 */
export async function readZarrObservations(path: string): Promise<ZarrObservations> {
  const { root, attrs, zarrFormat } = await openGroup(path);
  const y = await readY(root, path);
  const n = y.shape[0];
  const arrays: OperatorArrays = {
    matrices: await readNode(root, "matrices", FLOAT_DTYPES),
    mask: await readNode(root, "mask"),
    kernel: await readNode(root, "kernel", FLOAT_DTYPES),
    columns: await readNode(root, "columns"),
  };
  const kind = operatorKind(attrs, arrays);
  const xShapeAttr = xShapeAttribute(attrs);
  const { xShape, config, params, family } = buildOperator(kind, arrays, y, xShapeAttr);
  const sigmaY = await readSigmaY(root, attrs, n, path);
  const x = await readGroundTruth(root, n, xShape);
  checked(() => family.validateParams(params, n));
  return { kind, xShape, config, family, params, y, sigmaY, x, zarrFormat };
}

type Root = zarr.Location<CheckedStore>;

async function openGroup(
  path: string,
): Promise<{ root: Root; attrs: Record<string, unknown>; zarrFormat: 2 | 3 }> {
  try {
    const st = await Deno.stat(path);
    if (!st.isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new InvalidObservationsError(
      `observations: ${path} is not a readable Zarr directory (${(e as Error).message})`,
    );
  }
  const store = new CheckedStore(path);
  const root = zarr.root(store);
  let group;
  try {
    group = await zarr.open(root, { kind: "group" });
  } catch (e) {
    throw new InvalidObservationsError(`observations: no Zarr group at ${path} (${(e as Error).message})`);
  }
  const zarrFormat: 2 | 3 = await Deno.stat(`${path}/zarr.json`).then(() => 3 as const, () => 2 as const);
  const attrs = (group.attrs ?? {}) as Record<string, unknown>;
  return { root, attrs, zarrFormat };
}

async function readY(root: Root, path: string): Promise<NDArray<Float32Array>> {
  const yRaw = await readNode(root, "y", FLOAT_DTYPES);
  if (!yRaw) throw new InvalidObservationsError(`observations: required array "y" is missing in ${path}`);
  if (yRaw.shape.length < 2) {
    throw new InvalidObservationsError(`array "y" has shape [${yRaw.shape}], expected [N, ...]`);
  }
  const y = finiteFloat32(yRaw, "y");
  if (y.shape[0] === 0) throw new InvalidObservationsError(`array "y" has no observations`);
  return y;
}

function xShapeAttribute(attrs: Record<string, unknown>): number[] | undefined {
  const xShapeAttr = attrs.x_shape as number[] | undefined;
  if (
    xShapeAttr !== undefined &&
    (!Array.isArray(xShapeAttr) || !xShapeAttr.every((v) => Number.isInteger(v) && v > 0))
  ) {
    throw new InvalidObservationsError(
      `attribute "x_shape" must be a list of positive integers, got ${JSON.stringify(xShapeAttr)}`,
    );
  }
  return xShapeAttr;
}

/** σ_y: attribute (group or y) or array; they must agree when both are given. */
async function readSigmaY(
  root: Root,
  attrs: Record<string, unknown>,
  n: number,
  path: string,
): Promise<number> {
  let sigmaY: number | undefined;
  const yAttrs = await zarr.open(root.resolve("y"), { kind: "array" }).then((a) =>
    a.attrs as Record<string, unknown>
  );
  const attrSigma = attrs.sigma_y ?? yAttrs?.sigma_y;
  if (attrSigma !== undefined) {
    if (typeof attrSigma !== "number") {
      throw new InvalidObservationsError(
        `attribute "sigma_y" must be a number, got ${JSON.stringify(attrSigma)}`,
      );
    }
    sigmaY = attrSigma;
  }
  const sigmaRaw = await readNode(root, "sigma_y", FLOAT_DTYPES);
  if (sigmaRaw) {
    const s = toNumbers(sigmaRaw, "sigma_y");
    if (s.length !== 1 && s.length !== n) {
      throw new InvalidObservationsError(
        `array "sigma_y" has ${s.length} values; expected 1 or one per observation (${n})`,
      );
    }
    for (let i = 1; i < s.length; i++) {
      if (s[i] !== s[0]) {
        throw new InvalidObservationsError(
          `array "sigma_y" varies across observations (index [${i}]: ${s[i]} vs ${
            s[0]
          }); only a shared σ_y is supported`,
        );
      }
    }
    if (sigmaY !== undefined && sigmaY !== s[0]) {
      throw new InvalidObservationsError(
        `attribute sigma_y = ${sigmaY} disagrees with array "sigma_y" = ${s[0]}`,
      );
    }
    sigmaY = s[0];
  }
  if (sigmaY === undefined) {
    throw new InvalidObservationsError(`observations: no "sigma_y" attribute or array in ${path}`);
  }
  // σ_y² must be a normal, finite float32 (the samplers square it in float32).
  if (!(sigmaY >= 1e-18 && sigmaY <= 1e18)) {
    throw new InvalidObservationsError(
      `sigma_y must be a positive number between 1e-18 and 1e18, got ${sigmaY}`,
    );
  }
  return sigmaY;
}

async function readGroundTruth(
  root: Root,
  n: number,
  xShape: number[],
): Promise<NDArray<Float32Array> | undefined> {
  const xRaw = await readNode(root, "x", FLOAT_DTYPES);
  if (!xRaw) return undefined;
  const x = finiteFloat32(xRaw, "x");
  if (
    x.shape[0] !== n || x.shape.length !== xShape.length + 1 || xShape.some((v, i) => x.shape[i + 1] !== v)
  ) {
    throw new InvalidObservationsError(`array "x" has shape [${x.shape}], expected [${n}, ${xShape}]`);
  }
  return x;
}
