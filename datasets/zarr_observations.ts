/**
 * Read a researcher's own observations from a Zarr group (format v2 or v3, local directory).
 *
 * Expected layout (N observations, x of event shape `xShape`, D = prod(xShape)):
 *
 * ```
 * group/                      attributes (all optional except where noted):
 *   .zattrs / zarr.json         operator: "projection" | "mask" | "blur"  (inferred from the arrays when absent)
 *                               x_shape:  [..]   event shape of x (inferred when absent, see below)
 *                               sigma_y:  number  noise std (or the array below; one of the two is required)
 *   y         [N, ...yShape]    float32/float64 observations                               (required)
 *   matrices  [N, m, D]         projection: one A_i per observation, or [m, D] shared by all
 *   mask      [N, ...xShape]    mask: 0/1 (bool, any int or float dtype), or [...xShape] shared
 *   kernel    [K] or [K, K]     blur: the shared kernel (odd K); y has x's shape
 *   sigma_y   [] or [1] or [N]  noise std as an array (a per-observation array must be constant)
 *   x         [N, ...xShape]    optional ground truth, for synthetic benchmarks
 * ```
 *
 * Inference: `matrices` → projection with xShape [D] (or `x_shape`); `mask` → mask with xShape =
 * the mask's event shape and y of the same shape; `kernel` → blur with xShape = y's event shape.
 * Shared parameters are broadcast to N rows. A mask's y entries where the mask is 0 are
 * ignored (set to 0), matching how the mask operator corrupts; the mask family's keep
 * probability (used only for fresh corruptions) is the observed fraction.
 *
 * Validation throws errors that name the array and the offending index: missing arrays, missing
 * or truncated chunks, shape mismatches between y and the operator, dtypes other than float32 and
 * float64 (except for a mask), arrays with no values or too large for memory (checked before
 * reading), NaN/±Inf values, non-binary masks, projection rows that are all zero, σ_y varying,
 * non-positive or outside [1e-18, 1e18].
 *
 * @module
 */
import * as zarr from "zarrita";
import { CheckedStore, FLOAT_DTYPES, type RawArray, readNode } from "./_zarr_read.ts";
import { type NDArray, numel } from "../lib/array.ts";
import {
  expectBinary,
  expectFinite,
  type OperatorFamily,
  operatorFamily,
  type OperatorKind,
  type OperatorParams,
} from "../lib/operators/mod.ts";

/** Observations read and validated from a Zarr group. */
export interface ZarrObservations {
  kind: OperatorKind;
  /** Event shape of x. */
  xShape: number[];
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

function toNumbers(a: RawArray, name: string): Float64Array {
  if (/string|unicode|bytes|^v\d|^S|^U/.test(a.dtype)) {
    throw new Error(`array "${name}" has non-numeric dtype ${a.dtype}`);
  }
  const out = new Float64Array(a.data.length);
  // zarrita returns bool arrays as a BoolArray (read with get), typed arrays otherwise.
  const getter = (a.data as { get?: (i: number) => boolean }).get;
  if (!ArrayBuffer.isView(a.data) && typeof getter === "function") {
    for (let i = 0; i < out.length; i++) out[i] = getter.call(a.data, i) ? 1 : 0;
    return out;
  }
  for (let i = 0; i < out.length; i++) {
    const v = a.data[i];
    out[i] = typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
  }
  return out;
}

function finiteFloat32(a: RawArray, name: string): NDArray<Float32Array> {
  const nums = toNumbers(a, name);
  expectFinite({ shape: a.shape, data: nums }, name);
  return { shape: a.shape, data: Float32Array.from(nums) };
}

/** Broadcast a shared parameter `[...event]` to `[n, ...event]`, or check a per-row one. */
function perRow<T extends Float32Array | Uint8Array>(
  data: T,
  shape: number[],
  event: number[],
  n: number,
  name: string,
): NDArray<T> {
  const sameEvent = (s: number[]) => s.length === event.length && s.every((v, i) => v === event[i]);
  if (sameEvent(shape)) {
    const Ctor = data.constructor as new (len: number) => T;
    const out = new Ctor(n * data.length);
    for (let i = 0; i < n; i++) out.set(data, i * data.length);
    return { shape: [n, ...event], data: out };
  }
  if (shape.length === event.length + 1 && sameEvent(shape.slice(1))) {
    if (shape[0] !== n) {
      throw new Error(`array "${name}" has ${shape[0]} rows but y has ${n} observations`);
    }
    return { shape, data };
  }
  throw new Error(`array "${name}" has shape [${shape}], expected [${n}, ${event}] or shared [${event}]`);
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
  };
  const kind = operatorKind(attrs, arrays);
  const xShapeAttr = xShapeAttribute(attrs);
  const { xShape, params, family } = buildOperator(kind, arrays, y, xShapeAttr);
  const sigmaY = await readSigmaY(root, attrs, n, path);
  const x = await readGroundTruth(root, n, xShape);
  family.validateParams(params, n);
  return { kind, xShape, family, params, y, sigmaY, x, zarrFormat };
}

type Root = zarr.Location<CheckedStore>;

/** The operator parameter arrays a group may hold (null where absent). */
interface OperatorArrays {
  matrices: RawArray | null;
  mask: RawArray | null;
  kernel: RawArray | null;
}

/** The operator read from a group: its family, parameters and the event shape of x. */
interface Operator {
  xShape: number[];
  params: OperatorParams;
  family: OperatorFamily;
}

async function openGroup(
  path: string,
): Promise<{ root: Root; attrs: Record<string, unknown>; zarrFormat: 2 | 3 }> {
  try {
    const st = await Deno.stat(path);
    if (!st.isDirectory) throw new Error("not a directory");
  } catch (e) {
    throw new Error(`observations: ${path} is not a readable Zarr directory (${(e as Error).message})`);
  }
  const store = new CheckedStore(path);
  const root = zarr.root(store);
  let group;
  try {
    group = await zarr.open(root, { kind: "group" });
  } catch (e) {
    throw new Error(`observations: no Zarr group at ${path} (${(e as Error).message})`);
  }
  const zarrFormat: 2 | 3 = await Deno.stat(`${path}/zarr.json`).then(() => 3 as const, () => 2 as const);
  const attrs = (group.attrs ?? {}) as Record<string, unknown>;
  return { root, attrs, zarrFormat };
}

async function readY(root: Root, path: string): Promise<NDArray<Float32Array>> {
  const yRaw = await readNode(root, "y", FLOAT_DTYPES);
  if (!yRaw) throw new Error(`observations: required array "y" is missing in ${path}`);
  if (yRaw.shape.length < 2) throw new Error(`array "y" has shape [${yRaw.shape}], expected [N, ...]`);
  const y = finiteFloat32(yRaw, "y");
  if (y.shape[0] === 0) throw new Error(`array "y" has no observations`);
  return y;
}

/** The `operator` attribute, or the kind whose parameter array is present. */
function operatorKind(attrs: Record<string, unknown>, arrays: OperatorArrays): OperatorKind {
  const kind = attrs.operator as OperatorKind | undefined;
  if (kind !== undefined) return kind;
  const found = [arrays.matrices && "projection", arrays.mask && "mask", arrays.kernel && "blur"].filter(
    Boolean,
  ) as OperatorKind[];
  if (found.length !== 1) {
    throw new Error(
      found.length === 0
        ? `observations: no operator parameters found (one of "matrices", "mask", "kernel") and no "operator" attribute`
        : `observations: several operator parameter arrays (${
          found.join(", ")
        }); set the "operator" attribute`,
    );
  }
  return found[0];
}

function xShapeAttribute(attrs: Record<string, unknown>): number[] | undefined {
  const xShapeAttr = attrs.x_shape as number[] | undefined;
  if (
    xShapeAttr !== undefined &&
    (!Array.isArray(xShapeAttr) || !xShapeAttr.every((v) => Number.isInteger(v) && v > 0))
  ) {
    throw new Error(
      `attribute "x_shape" must be a list of positive integers, got ${JSON.stringify(xShapeAttr)}`,
    );
  }
  return xShapeAttr;
}

function buildOperator(
  kind: OperatorKind,
  arrays: OperatorArrays,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (kind === "projection") return projectionFromArrays(arrays.matrices, y, xShapeAttr);
  if (kind === "mask") return maskFromArrays(arrays.mask, y, xShapeAttr);
  if (kind === "blur") return blurFromArrays(arrays.kernel, y, xShapeAttr);
  throw new Error(`attribute "operator" is "${kind}", expected projection, mask or blur`);
}

function projectionFromArrays(
  matrices: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  const n = y.shape[0], yEvent = y.shape.slice(1);
  if (!matrices) throw new Error(`projection observations need the array "matrices" ([N, m, D] or [m, D])`);
  if (yEvent.length !== 1) throw new Error(`array "y" has shape [${y.shape}]; a projection needs [N, m]`);
  const m = yEvent[0];
  const d = matrices.shape[matrices.shape.length - 1];
  const xShape = xShapeAttr ?? [d];
  if (numel(xShape) !== d) {
    throw new Error(`attribute x_shape [${xShape}] has ${numel(xShape)} entries, matrices have D = ${d}`);
  }
  const mats = finiteFloat32(matrices, "matrices");
  if (matrices.shape.length >= 2 && matrices.shape[matrices.shape.length - 2] !== m) {
    throw new Error(
      `array "matrices" has ${
        matrices.shape[matrices.shape.length - 2]
      } rows per observation, but y has m = ${m}`,
    );
  }
  const full = perRow(mats.data, mats.shape, [m, d], n, "matrices");
  for (let r = 0; r < n * m; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += full.data[r * d + j] ** 2;
    if (s === 0) {
      throw new Error(`array "matrices": row ${r % m} of observation ${Math.floor(r / m)} is all zeros`);
    }
  }
  return { xShape, params: { matrices: full }, family: operatorFamily("projection", { xShape, m }) };
}

/** A mask's or a blur's x shape: the attribute or y's event shape, which must agree. */
function imageShape(y: NDArray, xShapeAttr: number[] | undefined, what: string): number[] {
  const yEvent = y.shape.slice(1);
  const xShape = xShapeAttr ?? yEvent;
  if (yEvent.length !== xShape.length || yEvent.some((v, i) => v !== xShape[i])) {
    throw new Error(`array "y" has event shape [${yEvent}], a ${what} needs y shaped like x [${xShape}]`);
  }
  return xShape;
}

/** The mask operator; zeroes y where the mask is 0 (in place). */
function maskFromArrays(
  maskRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (!maskRaw) throw new Error(`mask observations need the array "mask" ([N, ...xShape] or [...xShape])`);
  const xShape = imageShape(y, xShapeAttr, "mask");
  const nums = toNumbers(maskRaw, "mask");
  expectBinary({ shape: maskRaw.shape, data: nums }, `array "mask"`);
  const full = perRow(Uint8Array.from(nums), maskRaw.shape, xShape, y.shape[0], "mask");
  // Unobserved entries carry no information; zero them as the mask operator's corrupt does.
  for (let i = 0; i < y.data.length; i++) if (!full.data[i]) y.data[i] = 0;
  // `keep` only matters for fresh corruptions (DiffEM's M-step): use the observed fraction.
  let kept = 0;
  for (let i = 0; i < full.data.length; i++) kept += full.data[i];
  return {
    xShape,
    params: { mask: full },
    family: operatorFamily("mask", { xShape, keep: kept / full.data.length }),
  };
}

function blurFromArrays(
  kernelRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (!kernelRaw) throw new Error(`blur observations need the array "kernel" ([K] or [K, K])`);
  const xShape = imageShape(y, xShapeAttr, "blur");
  const k = finiteFloat32(kernelRaw, "kernel");
  const want = xShape.length === 1 ? 1 : 2;
  if (k.shape.length !== want || (want === 2 && k.shape[0] !== k.shape[1]) || k.shape[0] % 2 !== 1) {
    throw new Error(
      `array "kernel" has shape [${k.shape}], expected ${want === 1 ? "[K]" : "[K, K]"} with K odd`,
    );
  }
  const family = operatorFamily("blur", { xShape, kernel: Array.from(k.data) });
  return { xShape, params: { kernel: k }, family };
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
      throw new Error(`attribute "sigma_y" must be a number, got ${JSON.stringify(attrSigma)}`);
    }
    sigmaY = attrSigma;
  }
  const sigmaRaw = await readNode(root, "sigma_y", FLOAT_DTYPES);
  if (sigmaRaw) {
    const s = toNumbers(sigmaRaw, "sigma_y");
    if (s.length !== 1 && s.length !== n) {
      throw new Error(`array "sigma_y" has ${s.length} values; expected 1 or one per observation (${n})`);
    }
    for (let i = 1; i < s.length; i++) {
      if (s[i] !== s[0]) {
        throw new Error(
          `array "sigma_y" varies across observations (index [${i}]: ${s[i]} vs ${
            s[0]
          }); only a shared σ_y is supported`,
        );
      }
    }
    if (sigmaY !== undefined && sigmaY !== s[0]) {
      throw new Error(`attribute sigma_y = ${sigmaY} disagrees with array "sigma_y" = ${s[0]}`);
    }
    sigmaY = s[0];
  }
  if (sigmaY === undefined) throw new Error(`observations: no "sigma_y" attribute or array in ${path}`);
  // σ_y² must be a normal, finite float32 (the samplers square it in float32).
  if (!(sigmaY >= 1e-18 && sigmaY <= 1e18)) {
    throw new Error(`sigma_y must be a positive number between 1e-18 and 1e18, got ${sigmaY}`);
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
    throw new Error(`array "x" has shape [${x.shape}], expected [${n}, ${xShape}]`);
  }
  return x;
}
