/**
 * Taking results out of the store: a stage's arrays written as plain files that other tools open
 * without knowing the store's layout, with the stage's metadata beside them.
 *
 * Formats:
 * - `zarr-v2`: a Zarr v2 group (zstd chunks), metadata as the group's attributes (`.zattrs`);
 *   zarr-python 2 and 3, and zarrita in JavaScript, open it.
 * - `zarr-v3`: a Zarr v3 group, as the store keeps arrays, metadata as the group's attributes.
 * - `npy`: one NumPy `.npy` file per array (`model/w0` → `model/w0.npy`) and `metadata.json`.
 *
 * The export is written beside its target and renamed into place, so that a failed export leaves
 * nothing behind; an existing target is refused, never overwritten.
 *
 * @example
 * ```ts
 * import { exportArrays } from "./lib/export/mod.ts";
 * await exportArrays("out.zarr", { samples: { array: x, chunks: x.shape } }, { stage: "em[3].sample" }, "zarr-v2");
 * ```
 *
 * @module
 */
import type { NDArray } from "../array.ts";
import { createGroup, writeArray } from "../engine/mod.ts";
import { encodeNpy } from "./_npy.ts";
import { createGroupV2, writeArrayV2 } from "./_zarr_v2.ts";

export { encodeNpy } from "./_npy.ts";

/** The formats {@link exportArrays} writes. `EXPORT_FORMATS.includes("npy")` */
export const EXPORT_FORMATS = ["zarr-v2", "zarr-v3", "npy"] as const;

/** One of {@link EXPORT_FORMATS}. `const f: ExportFormat = "zarr-v2";` */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/** An array to export: its values, and its chunk shape in the zarr formats (e.g. the store's). `{ array: x, chunks: x.shape }` */
export interface ExportArray {
  array: NDArray;
  chunks: readonly number[];
}

async function writeFormat(
  dir: string,
  arrays: Record<string, ExportArray>,
  metadata: Record<string, unknown>,
  format: ExportFormat,
): Promise<void> {
  if (format === "zarr-v3") {
    await createGroup(dir, metadata);
    for (const [name, { array }] of Object.entries(arrays)) await writeArray(dir, name, array);
  } else if (format === "zarr-v2") {
    await createGroupV2(dir, metadata);
    for (const [name, { array, chunks }] of Object.entries(arrays)) {
      await writeArrayV2(dir, name, array, chunks, {});
    }
  } else {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/metadata.json`, JSON.stringify(metadata, null, 1) + "\n");
    for (const [name, { array }] of Object.entries(arrays)) {
      const path = `${dir}/${name}.npy`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeFile(path, encodeNpy(array));
    }
  }
}

/**
 * Write `arrays` and `metadata` to the new directory `to` in `format`; refuses an existing `to`.
 *
 * @example
 * ```ts
 * const x = { shape: [2, 3], data: new Float32Array(6) };
 * await exportArrays("/tmp/x-npy", { x: { array: x, chunks: [2, 3] } }, { stage: "obs" }, "npy");
 * // /tmp/x-npy/x.npy, /tmp/x-npy/metadata.json
 * ```
 */
export async function exportArrays(
  to: string,
  arrays: Record<string, ExportArray>,
  metadata: Record<string, unknown>,
  format: ExportFormat,
): Promise<void> {
  if (!EXPORT_FORMATS.includes(format)) {
    throw new Error(`unknown export format "${format}" (valid: ${EXPORT_FORMATS.join(", ")})`);
  }
  const taken = await Deno.lstat(to).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });
  if (taken) throw new Error(`${to} exists already: export to a new path`);
  const tmp = `${to}.partial-${Deno.pid}`;
  try {
    await writeFormat(tmp, arrays, metadata, format);
    await Deno.rename(tmp, to);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}
