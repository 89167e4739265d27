/**
 * Store arrays are valid Zarr v3: `zarr.json` carries a numeric fill value of the array's type (the spec
 * allows no null for numeric arrays), and arrays written before, with `"fill_value": null`, still read.
 */
import { readArray, writeArray } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import { assertEquals } from "./assert.ts";

const ARRAYS: Record<string, NDArray> = {
  f32: { shape: [3, 2], data: new Float32Array([1.5, -2, 0, 3.25, 4, -5]) },
  f64: { shape: [2], data: new Float64Array([Math.PI, -Math.E]) },
  i32: { shape: [2, 2], data: new Int32Array([1, -2, 3, 2147483647]) },
  u8: { shape: [4], data: new Uint8Array([0, 1, 128, 255]) },
  scalar: { shape: [], data: new Float32Array([7]) },
};

async function metadataOf(dir: string, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${dir}/${name}/zarr.json`));
}

Deno.test("every dtype is written with fill_value 0, as the Zarr v3 spec requires", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zarr-fill-" });
  for (const [name, a] of Object.entries(ARRAYS)) {
    await writeArray(dir, name, a);
    assertEquals((await metadataOf(dir, name)).fill_value, 0, name);
    const back = await readArray(dir, name);
    assertEquals(back.shape, a.shape, name);
    assertEquals([...back.data], [...a.data], name);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("arrays written the old way, with fill_value null, still read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zarr-fill-old-" });
  for (const [name, a] of Object.entries(ARRAYS)) {
    await writeArray(dir, name, a);
    const meta = await metadataOf(dir, name);
    await Deno.writeTextFile(`${dir}/${name}/zarr.json`, JSON.stringify({ ...meta, fill_value: null }));
    assertEquals((await metadataOf(dir, name)).fill_value, null);
    const back = await readArray(dir, name);
    assertEquals(back.shape, a.shape, name);
    assertEquals([...back.data], [...a.data], name);
  }
  await Deno.remove(dir, { recursive: true });
});
