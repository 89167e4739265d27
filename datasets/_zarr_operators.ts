/**
 * The operator of a researcher's Zarr group (private to zarr_observations.ts): which kind its attributes or
 * arrays say, and each kind's parameters read, validated and broadcast (see zarr_observations.ts for the
 * layout), with the family configuration that rebuilds it from the store.
 *
 * @module
 */
import { checked, finiteFloat32, InvalidObservationsError, type RawArray, toNumbers } from "./_zarr_read.ts";
import { type NDArray, numel } from "../lib/array.ts";
import {
  channelsOf,
  expectBinary,
  type OperatorFamily,
  operatorFamily,
  type OperatorKind,
  type OperatorParams,
} from "../lib/operators/mod.ts";

/** The operator parameter arrays a group may hold (null where absent). */
export interface OperatorArrays {
  matrices: RawArray | null;
  mask: RawArray | null;
  kernel: RawArray | null;
  columns: RawArray | null;
}

/** The `operator` attribute, or the kind whose parameter array is present. */
export function operatorKind(attrs: Record<string, unknown>, arrays: OperatorArrays): OperatorKind {
  const kind = attrs.operator as OperatorKind | undefined;
  if (kind !== undefined) return kind;
  const found = [
    arrays.matrices && "projection",
    arrays.mask && "mask",
    arrays.kernel && "blur",
    arrays.columns && "fourier",
  ].filter(Boolean) as OperatorKind[];
  if (found.length !== 1) {
    throw new InvalidObservationsError(
      found.length === 0
        ? `observations: no operator parameters found (one of "matrices", "mask", "kernel", "columns") and no "operator" attribute`
        : `observations: several operator parameter arrays (${
          found.join(", ")
        }); set the "operator" attribute`,
    );
  }
  return found[0];
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
      throw new InvalidObservationsError(`array "${name}" has ${shape[0]} rows but y has ${n} observations`);
    }
    return { shape, data };
  }
  throw new InvalidObservationsError(
    `array "${name}" has shape [${shape}], expected [${n}, ${event}] or shared [${event}]`,
  );
}

export function buildOperator(
  kind: OperatorKind,
  arrays: OperatorArrays,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (kind === "projection") return projectionFromArrays(arrays.matrices, y, xShapeAttr);
  if (kind === "mask") return maskFromArrays(arrays.mask, y, xShapeAttr);
  if (kind === "blur") return blurFromArrays(arrays.kernel, y, xShapeAttr);
  if (kind === "box") return boxFromArrays(arrays.mask, y, xShapeAttr);
  if (kind === "fourier") return fourierFromArrays(arrays.columns, y, xShapeAttr);
  throw new InvalidObservationsError(
    `attribute "operator" is "${kind}", expected projection, mask, box, blur or fourier`,
  );
}

function projectionFromArrays(
  matrices: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  const n = y.shape[0], yEvent = y.shape.slice(1);
  if (!matrices) {
    throw new InvalidObservationsError(
      `projection observations need the array "matrices" ([N, m, D] or [m, D])`,
    );
  }
  if (yEvent.length !== 1) {
    throw new InvalidObservationsError(`array "y" has shape [${y.shape}]; a projection needs [N, m]`);
  }
  const m = yEvent[0];
  const d = matrices.shape[matrices.shape.length - 1];
  const xShape = xShapeAttr ?? [d];
  if (numel(xShape) !== d) {
    throw new InvalidObservationsError(
      `attribute x_shape [${xShape}] has ${numel(xShape)} entries, matrices have D = ${d}`,
    );
  }
  const mats = finiteFloat32(matrices, "matrices");
  if (matrices.shape.length >= 2 && matrices.shape[matrices.shape.length - 2] !== m) {
    throw new InvalidObservationsError(
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
      throw new InvalidObservationsError(
        `array "matrices": row ${r % m} of observation ${Math.floor(r / m)} is all zeros`,
      );
    }
  }
  return familyFrom("projection", { xShape, m }, { matrices: full });
}

/** A mask's or a blur's x shape: the attribute or y's event shape, which must agree. */
function imageShape(y: NDArray, xShapeAttr: number[] | undefined, what: string): number[] {
  const yEvent = y.shape.slice(1);
  const xShape = xShapeAttr ?? yEvent;
  if (yEvent.length !== xShape.length || yEvent.some((v, i) => v !== xShape[i])) {
    throw new InvalidObservationsError(
      `array "y" has event shape [${yEvent}], a ${what} needs y shaped like x [${xShape}]`,
    );
  }
  return xShape;
}

/** The binary mask `[N, ...xShape]` (shared ones broadcast); zeroes y where it is 0 (in place). */
function readMask(
  maskRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
  what: string,
) {
  if (!maskRaw) {
    throw new InvalidObservationsError(
      `${what} observations need the array "mask" ([N, ...xShape] or [...xShape])`,
    );
  }
  const xShape = imageShape(y, xShapeAttr, what);
  const nums = toNumbers(maskRaw, "mask");
  checked(() => expectBinary({ shape: maskRaw.shape, data: nums }, `array "mask"`));
  const mask = perRow(Uint8Array.from(nums), maskRaw.shape, xShape, y.shape[0], "mask");
  // Unobserved entries carry no information; zero them as the operators' corrupt does.
  for (let i = 0; i < y.data.length; i++) if (!mask.data[i]) y.data[i] = 0;
  return { xShape, mask };
}

/** The mask operator; `keep` (used only for fresh corruptions, DiffEM's M-step) is the observed fraction. */
function maskFromArrays(
  maskRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  const { xShape, mask } = readMask(maskRaw, y, xShapeAttr, "mask");
  let kept = 0;
  for (let i = 0; i < mask.data.length; i++) kept += mask.data[i];
  return familyFrom("mask", { xShape, keep: kept / mask.data.length }, { mask });
}

/**
 * Box inpainting, stored as a mask (attribute `operator: box`). Fresh boxes (DiffEM) take the largest extents
 * of the hidden pixels of any observation.
 */
function boxFromArrays(
  maskRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  const { xShape, mask } = readMask(maskRaw, y, xShapeAttr, "box");
  if (xShape.length < 2) {
    throw new InvalidObservationsError(`box observations need images: x_shape [${xShape}]`);
  }
  const [h, w] = xShape, c = channelsOf(xShape);
  let height = 1, width = 1;
  for (let r = 0; r < y.shape[0]; r++) {
    let top = h, bottom = -1, left = w, right = -1;
    for (let p = 0; p < h * w; p++) {
      if (mask.data[(r * h * w + p) * c]) continue;
      const i = Math.floor(p / w), j = p % w;
      top = Math.min(top, i),
        bottom = Math.max(bottom, i),
        left = Math.min(left, j),
        right = Math.max(right, j);
    }
    if (bottom >= 0) height = Math.max(height, bottom - top + 1), width = Math.max(width, right - left + 1);
  }
  return familyFrom("box", { xShape, height, width }, { mask });
}

/**
 * Fourier under-sampling: `columns` `[N, W]` (or `[W]`, shared), y `[N, ...xShape, 2]`; zeroes y outside the
 * sampled columns (in place). Fresh column masks (DiffEM) keep the observed mean number of columns
 * (acceleration = W / mean) and the band of low frequencies sampled in every observation (center).
 */
function fourierFromArrays(
  columnsRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (!columnsRaw) {
    throw new InvalidObservationsError(`fourier observations need the array "columns" ([N, W] or [W])`);
  }
  const yEvent = y.shape.slice(1);
  const xShape = xShapeAttr ?? yEvent.slice(0, -1);
  if (yEvent.at(-1) !== 2 || yEvent.length !== xShape.length + 1 || xShape.some((v, i) => v !== yEvent[i])) {
    throw new InvalidObservationsError(
      `array "y" has event shape [${yEvent}], fourier observations need [${
        xShape.length ? xShape : "H, W, C"
      }, 2]`,
    );
  }
  if (xShape.length < 2 || xShape.length > 3) {
    throw new InvalidObservationsError(`fourier observations need images: x_shape [${xShape}]`);
  }
  const n = y.shape[0], w = xShape[1], shared = columnsRaw.shape.length === 1;
  const nums = toNumbers(columnsRaw, "columns");
  checked(() => expectBinary({ shape: columnsRaw.shape, data: nums }, `array "columns"`));
  const columns = perRow(Uint8Array.from(nums), columnsRaw.shape, [w], n, "columns");
  const perColumn = numel(yEvent) / (xShape[0] * w);
  for (let i = 0; i < y.data.length; i++) {
    if (!columns.data[Math.floor(i / numel(yEvent)) * w + (Math.floor(i / perColumn) % w)]) y.data[i] = 0;
  }
  const always = (l: number) => columns.data.every((v, i) => v === 1 || i % w !== l);
  let band = 0;
  while (band < w && always(band)) band++;
  for (let l = w - 1; l >= band && always(l); l--) band++;
  const mean = columns.data.reduce((a, v) => a + v, 0) / n;
  if (mean === 0) throw new InvalidObservationsError(`array "columns" samples no k-space column`);
  const params = { columns: shared ? { shape: [w], data: columns.data.slice(0, w) } : columns };
  return familyFrom("fourier", { xShape, acceleration: w / mean, center: band / w, shared }, params);
}

/** The operator of `kind` with configuration `config` (xShape included) and parameters `params`. */
function familyFrom(
  kind: OperatorKind,
  config: Record<string, unknown> & { xShape: number[] },
  params: OperatorParams,
): Operator {
  return { xShape: config.xShape, config, params, family: checked(() => operatorFamily(kind, config)) };
}

function blurFromArrays(
  kernelRaw: RawArray | null,
  y: NDArray<Float32Array>,
  xShapeAttr: number[] | undefined,
): Operator {
  if (!kernelRaw) {
    throw new InvalidObservationsError(`blur observations need the array "kernel" ([K] or [K, K])`);
  }
  const xShape = imageShape(y, xShapeAttr, "blur");
  const k = finiteFloat32(kernelRaw, "kernel");
  const want = xShape.length === 1 ? 1 : 2;
  if (k.shape.length !== want || (want === 2 && k.shape[0] !== k.shape[1]) || k.shape[0] % 2 !== 1) {
    throw new InvalidObservationsError(
      `array "kernel" has shape [${k.shape}], expected ${want === 1 ? "[K]" : "[K, K]"} with K odd`,
    );
  }
  return familyFrom("blur", { xShape, kernel: Array.from(k.data) }, { kernel: k });
}

/** The operator read from a group: its family (and the configuration that rebuilds it), parameters and x's event shape. */
export interface Operator {
  config: Record<string, unknown>;
  xShape: number[];
  params: OperatorParams;
  family: OperatorFamily;
}
