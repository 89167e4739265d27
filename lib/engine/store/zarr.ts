/**
 * Tensors in Zarr v3 (zarrita + filesystem store): chunked along the first axis, zstd-compressed.
 *
 * This is the only module that talks to zarrita; everything else passes {@link NDArray}s.
 *
 * @module
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { type DType, type NDArray, numel, type TypedArray } from "../../array.ts";

/** Shape and type of a stored array, as reported by `pipeline show`. */
export interface ArrayInfo {
  shape: number[];
  dtype: DType;
  chunks: number[];
}

const TARGET_CHUNK_BYTES = 4 * 1024 * 1024;

/** Name of the dtype of a typed array. */
function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  throw new Error(`unsupported array type ${(data as object).constructor.name}`);
}

function bytesPer(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "uint8" ? 1 : 4;
}

/** Chunk shape: whole rows along axis 0, about 4 MiB per chunk (per-chunk overhead dominates below 1 MiB). */
function chunkShapeFor(shape: readonly number[], dtype: DType): number[] {
  if (shape.length === 0) return [];
  const rowBytes = numel(shape.slice(1)) * bytesPer(dtype);
  const rows = Math.max(1, Math.min(shape[0], Math.floor(TARGET_CHUNK_BYTES / Math.max(1, rowBytes))));
  return [Math.max(1, rows), ...shape.slice(1)];
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * Create an empty Zarr v3 group at `dir` (the directory must be writable).
 *
 * @example
 * ```ts
 * await createGroup("/tmp/g", { source: "my data" });
 * ```
 */
export async function createGroup(dir: string, attributes: Record<string, unknown> = {}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await zarr.create(zarr.root(new FileSystemStore(dir)), { attributes });
}

/**
 * Write `array` as `name` inside the Zarr group at `dir` (created when missing).
 *
 * @example
 * ```ts
 * await writeArray("/tmp/g", "x", { shape: [2, 3], data: new Float32Array(6) });
 * ```
 */
export async function writeArray(
  dir: string,
  name: string,
  array: NDArray,
  attributes: Record<string, unknown> = {},
): Promise<ArrayInfo> {
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(name)) throw new Error(`invalid array name "${name}"`);
  const n = numel(array.shape);
  if (array.data.length !== n) {
    throw new Error(
      `array "${name}": data has ${array.data.length} values, shape [${array.shape}] needs ${n}`,
    );
  }
  const store = new FileSystemStore(dir);
  const root = zarr.root(store);
  try {
    await zarr.open(root, { kind: "group" });
  } catch {
    await createGroup(dir);
  }
  // Intermediate groups for nested names ("model/w0").
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const loc = root.resolve(parts.slice(0, i).join("/"));
    try {
      await zarr.open(loc, { kind: "group" });
    } catch {
      await zarr.create(loc, {});
    }
  }
  const dtype = dtypeOf(array.data);
  const shape = array.shape.length === 0 ? [1] : array.shape;
  const chunks = chunkShapeFor(shape, dtype);
  const arr = await zarr.create(root.resolve(name), {
    shape,
    chunkShape: chunks,
    dtype,
    // The v3 spec requires a fill value of the array's type (zarrita defaults to null, which it is not);
    // entries written before this carry null and still read: every chunk is written, none is filled.
    fillValue: 0,
    codecs: [
      { name: "bytes", configuration: { endian: "little" } },
      { name: "zstd", configuration: { level: 1, checksum: false } },
    ],
    attributes: array.shape.length === 0 ? { ...attributes, scalar: true } : attributes,
  });
  if (n > 0) {
    await zarr.set(arr, null, {
      data: array.data as Float32Array,
      shape,
      stride: stridesOf(shape),
    } as never);
  }
  return { shape: array.shape, dtype, chunks };
}

/**
 * Read the whole array `name` of the Zarr group at `dir`.
 *
 * @example
 * ```ts
 * const x = await readArray("/tmp/g", "x"); // { shape: [2, 3], data: Float32Array(6) }
 * ```
 */
export async function readArray(dir: string, name: string): Promise<NDArray> {
  const loc = zarr.root(new FileSystemStore(dir)).resolve(name);
  let arr;
  try {
    arr = await zarr.open(loc, { kind: "array" });
  } catch (e) {
    throw new Error(`no array "${name}" in ${dir}: ${(e as Error).message}`);
  }
  const chunk = await zarr.get(arr);
  const data = chunk.data as unknown as TypedArray;
  if (
    !(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array ||
      data instanceof Uint8Array)
  ) {
    throw new Error(`array "${name}" in ${dir} has unsupported dtype ${arr.dtype}`);
  }
  const scalar = (arr.attrs as Record<string, unknown>)?.scalar === true;
  return { shape: scalar ? [] : [...chunk.shape], data };
}

/**
 * Read rows `[start, stop)` along axis 0 of array `name`.
 *
 * @example
 * ```ts
 * const head = await readRows("/tmp/g", "x", 0, 1); // { shape: [1, 3], … }
 * ```
 */
export async function readRows(dir: string, name: string, start: number, stop: number): Promise<NDArray> {
  const loc = zarr.root(new FileSystemStore(dir)).resolve(name);
  const arr = await zarr.open(loc, { kind: "array" });
  const sel = [zarr.slice(start, stop), ...arr.shape.slice(1).map(() => null)];
  const chunk = await zarr.get(arr, sel);
  return { shape: [...chunk.shape], data: chunk.data as unknown as TypedArray };
}
