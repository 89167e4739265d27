/**
 * Reading the arrays of a researcher's Zarr group without trusting it (private to
 * zarr_observations.ts): a chunk that is missing or truncated is an error naming the array and
 * the chunk (Zarr would read a missing chunk as its fill value, silently); an array's dtype and
 * size are checked against what is expected, and against memory, before any data is read.
 *
 * @module
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { type NDArray, numel } from "../lib/array.ts";
import { expectFinite, InvalidOperatorError } from "../lib/operators/mod.ts";

/**
 * A Zarr group that is not valid observations: a missing, unreadable or damaged array, a shape, dtype
 * or value that does not fit (the message names the array, and the index where there is one). The
 * researcher's to fix; anything else the reader throws is a bug. Thrown by every check of
 * {@link readZarrObservations}, and re-exported by zarr_observations.ts.
 *
 * @example
 * ```ts
 * throw new InvalidObservationsError(`array "y" has no observations`);
 * ```
 */
export class InvalidObservationsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidObservationsError";
  }
}

/**
 * Run a check of `lib/operators` on the group's data (finite values, a binary mask, an operator's
 * configuration and parameters): the `InvalidOperatorError` it reports invalid data with becomes an
 * {@link InvalidObservationsError}. Any other error would be a bug there, and passes through with its
 * stack.
 *
 * @example
 * ```ts
 * checked(() => family.validateParams(params, n));
 * ```
 */
export function checked<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof InvalidOperatorError) {
      throw new InvalidObservationsError(e.message, { cause: e });
    }
    throw e;
  }
}

/** An array as read: its shape, its values and its Zarr dtype. */
export type RawArray = { shape: number[]; data: ArrayLike<number | bigint | boolean>; dtype: string };

/** The dtypes of real-valued arrays (y, matrices, kernel, sigma_y, x), as the README says. */
export const FLOAT_DTYPES = ["float32", "float64"];

/** Names of Zarr metadata documents (everything else a store is asked for is a chunk). */
const METADATA = /(^|\/)(zarr\.json|\.zarray|\.zattrs|\.zgroup|\.zmetadata)$/;

/**
 * A local Zarr directory that refuses to stand in a fill value for a missing chunk, and checks
 * the length a Blosc chunk declares in its header against the bytes on disk.
 *
 * @example
 * ```ts
 * const root = zarr.root(new CheckedStore("my_data.zarr"));
 * ```
 */
export class CheckedStore extends FileSystemStore {
  /** Arrays (store paths, e.g. `/y`) whose chunks are Blosc-compressed. */
  readonly blosc = new Set<string>();

  override async get(key: `/${string}`): Promise<Uint8Array | undefined> {
    const bytes = await super.get(key);
    if (METADATA.test(key)) return bytes;
    const { array, chunk } = splitChunkKey(key);
    if (bytes === undefined) {
      throw new InvalidObservationsError(
        `array "${array}": chunk ${chunk} is missing (${this.root}${key}); every chunk must be ` +
          "present (a missing chunk would read as the fill value)",
      );
    }
    if (this.blosc.has(`/${array}`)) checkBloscLength(bytes, array, chunk);
    return bytes;
  }
}

/** `/y/c/0/1` or `/y/0.1` → array `y`, chunk `c/0/1` or `0.1`. */
function splitChunkKey(key: string): { array: string; chunk: string } {
  const parts = key.slice(1).split("/");
  const at = parts.indexOf("c");
  if (at > 0) return { array: parts.slice(0, at).join("/"), chunk: parts.slice(at).join("/") };
  return { array: parts.slice(0, -1).join("/"), chunk: parts.at(-1)! };
}

/** A Blosc chunk's header declares its compressed length (bytes 12–15): a shorter file is truncated. */
function checkBloscLength(bytes: Uint8Array, array: string, chunk: string): void {
  const declared = bytes.length >= 16
    ? new DataView(bytes.buffer, bytes.byteOffset, 16).getUint32(12, true)
    : Number.NaN;
  if (declared !== bytes.length) {
    throw new InvalidObservationsError(
      `array "${array}": chunk ${chunk} is truncated or damaged (${bytes.length} bytes, its Blosc ` +
        `header says ${Number.isNaN(declared) ? "at least 16" : declared})`,
    );
  }
}

/** Bytes one element takes while it is read and converted (zarr's copy, float64, float32). */
const BYTES_PER_ELEMENT_READ = 8 + 8 + 4;

/**
 * Read array `name` of the group at `root`, or null when the group has none. With `dtypes`, its
 * dtype must be one of them. Its shape is checked (no zero-size axis, fits in memory) before its
 * data is read; a missing or truncated chunk throws.
 *
 * @example
 * ```ts
 * const y = await readNode(root, "y", FLOAT_DTYPES); // { shape: [64, 2], data: Float32Array, dtype: "float32" }
 * ```
 */
export async function readNode(
  root: zarr.Location<CheckedStore>,
  name: string,
  dtypes?: string[],
): Promise<RawArray | null> {
  const path = `${root.store.root}/${name}`;
  const hasMeta = await Promise.any(
    ["zarr.json", ".zarray"].map((m) => Deno.stat(`${path}/${m}`).then(() => true)),
  ).catch(() => false);
  if (!hasMeta) return null;
  let arr;
  try {
    arr = await zarr.open(root.resolve(name), { kind: "array" });
  } catch (e) {
    throw new InvalidObservationsError(
      `array "${name}" cannot be read: ${(e as Error).message.split("\n")[0]}${
        dtypes ? ` (expected dtype ${dtypes.join(" or ")})` : ""
      }`,
    );
  }
  const dtype = String(arr.dtype);
  if (dtypes && !dtypes.includes(dtype)) {
    throw new InvalidObservationsError(`array "${name}" has dtype ${dtype}, expected ${dtypes.join(" or ")}`);
  }
  checkSize(name, arr.shape);
  if (await usesBlosc(path)) root.store.blosc.add(`/${name}`);
  let chunk;
  try {
    chunk = await zarr.get(arr);
  } catch (e) {
    if (e instanceof InvalidObservationsError) throw e; // a missing or truncated chunk, named
    // A chunk that does not decode (its codec's data damaged): the group's, not the reader's.
    throw new InvalidObservationsError(
      `array "${name}" cannot be read: ${(e as Error).message.split("\n")[0]}`,
      { cause: e },
    );
  }
  return { shape: [...chunk.shape], data: chunk.data as unknown as ArrayLike<number>, dtype };
}

/** Refuse a shape with an empty axis, or one whose reading would not fit in memory. */
function checkSize(name: string, shape: number[]): void {
  if (shape.some((v) => v === 0)) {
    throw new InvalidObservationsError(`array "${name}" has shape [${shape}]: it holds no values`);
  }
  const count = numel(shape);
  const available = availableMemory();
  // Typed arrays hold at most 2^32 − 1 elements here; memory is the other bound.
  if (count >= 2 ** 32 || count * BYTES_PER_ELEMENT_READ > available) {
    throw new InvalidObservationsError(
      `array "${name}" has shape [${shape}] (${count.toExponential(2)} values, about ${
        ((count * BYTES_PER_ELEMENT_READ) / 1e9).toFixed(1)
      } GB to read): more than this machine's available memory (${(available / 1e9).toFixed(1)} GB)`,
    );
  }
}

function availableMemory(): number {
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return 4e9;
  }
}

/** Whether the array in `path` compresses its chunks with Blosc (v2 `compressor`, v3 `codecs`). */
async function usesBlosc(path: string): Promise<boolean> {
  for (const meta of ["zarr.json", ".zarray"]) {
    try {
      const m = JSON.parse(await Deno.readTextFile(`${path}/${meta}`));
      return m.compressor?.id === "blosc" ||
        (Array.isArray(m.codecs) && m.codecs.some((c: { name?: string }) => c?.name === "blosc"));
    } catch { /* the other format */ }
  }
  return false;
}

/**
 * An array's values as float64 (bool, integer and float dtypes), or an error naming a non-numeric array.
 *
 * @example
 * ```ts
 * const nums = toNumbers(await readNode(root, "mask"), "mask");
 * ```
 */
export function toNumbers(a: RawArray, name: string): Float64Array {
  if (/string|unicode|bytes|^v\d|^S|^U/.test(a.dtype)) {
    throw new InvalidObservationsError(`array "${name}" has non-numeric dtype ${a.dtype}`);
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

/**
 * An array's values as float32, or an error naming the first NaN/±Inf.
 *
 * @example
 * ```ts
 * const y = finiteFloat32(await readNode(root, "y", FLOAT_DTYPES), "y");
 * ```
 */
export function finiteFloat32(a: RawArray, name: string): NDArray<Float32Array> {
  const nums = toNumbers(a, name);
  checked(() => expectFinite({ shape: a.shape, data: nums }, name));
  return { shape: a.shape, data: Float32Array.from(nums) };
}
