/**
 * Zarr v2 groups (private), for the tools that read only v2 (zarr-python 2, Debian's python3-zarr):
 * zarrita creates v3 only, so the small v2 metadata files (`.zgroup`, `.zarray`, `.zattrs`) are written
 * here, and zarrita opens the array as v2 and encodes its chunks (zstd, which numcodecs reads).
 *
 * @module
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { type DType, type NDArray, numel } from "../array.ts";
import { dtypeName } from "./_npy.ts";

/** Zarr v2's (NumPy's) type string for each dtype the store keeps. */
const V2_DTYPE: Record<DType, string> = { float32: "<f4", float64: "<f8", int32: "<i4", uint8: "|u1" };

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value, null, 1) + "\n");
}

/**
 * Make `dir` a Zarr v2 group with `attributes` (and each folder of a nested name a group too).
 *
 * @example
 * ```ts
 * await createGroupV2("/tmp/out.zarr", { stage: "obs" });
 * ```
 */
export async function createGroupV2(dir: string, attributes: Record<string, unknown>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeJson(`${dir}/.zgroup`, { zarr_format: 2 });
  await writeJson(`${dir}/.zattrs`, attributes);
}

/**
 * Write `array` as the v2 array `name` (nested names like `model/w0` allowed) of the v2 group `dir`,
 * chunked as `chunks`, with `attributes`. A scalar is stored with shape [1] and `scalar: true`, as the
 * store keeps it.
 *
 * @example
 * ```ts
 * await writeArrayV2("/tmp/out.zarr", "x", { shape: [4, 2], data: new Float32Array(8) }, [4, 2], {});
 * ```
 */
export async function writeArrayV2(
  dir: string,
  name: string,
  array: NDArray,
  chunks: readonly number[],
  attributes: Record<string, unknown>,
): Promise<void> {
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const sub = `${dir}/${parts.slice(0, i).join("/")}`;
    await Deno.mkdir(sub, { recursive: true });
    await writeJson(`${sub}/.zgroup`, { zarr_format: 2 });
  }
  const scalar = array.shape.length === 0;
  const shape = scalar ? [1] : array.shape;
  await Deno.mkdir(`${dir}/${name}`, { recursive: true });
  await writeJson(`${dir}/${name}/.zarray`, {
    zarr_format: 2,
    shape,
    chunks: scalar ? [1] : chunks,
    dtype: V2_DTYPE[dtypeName(array.data)],
    compressor: { id: "zstd", level: 1 },
    fill_value: 0,
    order: "C",
    filters: null,
    dimension_separator: ".",
  });
  await writeJson(`${dir}/${name}/.zattrs`, scalar ? { ...attributes, scalar: true } : attributes);
  const arr = await zarr.open.v2(zarr.root(new FileSystemStore(dir)).resolve(name), { kind: "array" });
  if (array.data.length === 0) return;
  const stride = shape.map((_, i) => numel(shape.slice(i + 1)));
  await zarr.set(arr, null, { data: array.data, shape, stride } as never);
}
