/**
 * `pipeline export`: a stage's arrays out of the store in every format, read back by Python (Debian's
 * python3-zarr for Zarr v2, numpy for .npy, numcodecs' zstd for the Zarr v3 chunks) and by zarrita,
 * compared value for value with the store's arrays; metadata travels along; bad requests are refused
 * and leave nothing behind.
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { readArray } from "../lib/engine/mod.ts";
import { encodeNpy } from "../lib/export/mod.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";

const SPEC = `
store: store
seed: 2
stages:
  data: { task: dataset, params: { source: manifold, samples: 300, features: 5, manifold_dim: 1 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
`;

/** A Python 3 with numpy, zarr 2 and numcodecs (Debian's, when another python3 comes first on PATH). */
async function findPython(): Promise<string | null> {
  for (const py of ["/usr/bin/python3", "python3"]) {
    try {
      const r = await new Deno.Command(py, { args: ["-c", "import numpy, zarr, numcodecs"] }).output();
      if (r.success) return py;
    } catch { /* not here */ }
  }
  return null;
}

/**
 * Python that opens the export at argv[1] in `format` and prints, as JSON, each array's shape, dtype and
 * values (as float64 lists) and the metadata. Zarr v3 is read by hand (zarr-python 2 reads only v2):
 * zarr.json, then every chunk key `c/i/0/…`, zstd-decoded, as the v3 spec lays them out.
 */
const READER = `
import json, os, sys, numpy as np
path, fmt, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
out = {"arrays": {}}
if fmt == "zarr-v2":
    import zarr
    g = zarr.open_group(path, mode="r")
    out["metadata"] = dict(g.attrs)
    arrays = {n: g[n][...] for n in names}
elif fmt == "npy":
    out["metadata"] = json.load(open(os.path.join(path, "metadata.json")))
    arrays = {n: np.load(os.path.join(path, n + ".npy")) for n in names}
else:
    import numcodecs
    root = json.load(open(os.path.join(path, "zarr.json")))
    assert root["zarr_format"] == 3 and root["node_type"] == "group"
    out["metadata"] = root["attributes"]
    arrays = {}
    for n in names:
        meta = json.load(open(os.path.join(path, n, "zarr.json")))
        assert meta["fill_value"] == 0, meta["fill_value"]
        shape, chunk = meta["shape"], meta["chunk_grid"]["configuration"]["chunk_shape"]
        dtype = np.dtype({"float32": "<f4", "float64": "<f8", "int32": "<i4", "uint8": "u1"}[meta["data_type"]])
        full = np.zeros(shape, dtype)
        for i in range(-(-shape[0] // chunk[0])):
            key = os.path.join(path, n, "c", str(i), *["0"] * (len(shape) - 1))
            block = np.frombuffer(numcodecs.Zstd().decode(open(key, "rb").read()), dtype).reshape(chunk)
            rows = min(chunk[0], shape[0] - i * chunk[0])
            full[i * chunk[0]:i * chunk[0] + rows] = block[:rows]
        arrays[n] = full
for n, a in arrays.items():
    out["arrays"][n] = {"shape": list(a.shape), "dtype": str(a.dtype), "values": a.astype(np.float64).ravel().tolist()}
print(json.dumps(out))
`;

interface PythonView {
  metadata: Record<string, unknown>;
  arrays: Record<string, { shape: number[]; dtype: string; values: number[] }>;
}

async function readWithPython(
  py: string,
  path: string,
  format: string,
  names: string[],
): Promise<PythonView> {
  const r = await new Deno.Command(py, { args: ["-c", READER, path, format, names.join(",")] }).output();
  const dec = new TextDecoder();
  assert(r.success, `python could not read the ${format} export: ${dec.decode(r.stderr)}`);
  return JSON.parse(dec.decode(r.stdout));
}

Deno.test("export: every format reads back in Python and zarrita with the store's values and the stage's metadata", async () => {
  const dir = await scratch(SPEC);
  assertEquals((await cli(dir, "run")).code, 0);
  const shown = await show(dir, "obs");
  const entry = shown.entry as string;
  const names = ["y", "operator/matrices"];
  const stored = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readArray(`${entry}/arrays`, n)] as const)),
  );
  const py = await findPython();
  if (!py) {
    console.warn(
      "%cSKIPPED: no python3 with numpy and zarr — exports not read back in Python (apt-get install python3-zarr)",
      "color: yellow",
    );
  }
  for (const format of ["zarr-v2", "zarr-v3", "npy"]) {
    const to = `${dir}/out-${format}`;
    const r = await cli(dir, "export", "obs", ...names, "--to", to, "--format", format);
    assertEquals(r.code, 0, r.stderr);
    if (format !== "npy") {
      // zarrita reads both zarr formats back (v2 through its v2 metadata).
      const group = zarr.root(new FileSystemStore(to));
      const y = await zarr.get(await zarr.open(group.resolve("y"), { kind: "array" }));
      assertEquals([...y.shape], stored.y.shape, format);
      assertEquals([...y.data as Float32Array], [...stored.y.data], format);
    }
    if (!py) continue;
    const back = await readWithPython(py, to, format, names);
    for (const n of names) {
      assertEquals(back.arrays[n].shape, stored[n].shape, `${format} ${n} shape`);
      assertEquals(back.arrays[n].dtype, "float32", `${format} ${n} dtype`);
      assertEquals(back.arrays[n].values, [...stored[n].data], `${format} ${n} values`);
    }
    const meta = back.metadata;
    assertEquals([meta.stage, meta.task], ["obs", "corrupt"], format);
    assertEquals((meta.params as { sigma_y: number }).sigma_y, 0.01, format);
    assertEquals(meta.key, shown.key, format);
    assertEquals(Object.keys(meta.arrays as object), names, format);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("export refuses an unknown array, a missing entry and an existing target, and writes nothing", async () => {
  const dir = await scratch(SPEC);
  const missing = await cli(dir, "export", "obs", "--to", `${dir}/a`);
  assertEquals(missing.code, 1, "no entry yet: the store does not even exist");
  assertEquals((await cli(dir, "run", "--until", "data")).code, 0);
  const notRun = await cli(dir, "export", "obs", "--to", `${dir}/a`);
  assertEquals(notRun.code, 1);
  assertMatch(notRun.stderr, /stage obs has no entry in the store \(missing\): run it first/);
  const unknown = await cli(dir, "export", "data", "nope", "--to", `${dir}/a`);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /stage "data" has no array "nope" \(has: x, z\)/);
  const badFormat = await cli(dir, "export", "data", "--to", `${dir}/a`, "--format", "hdf5");
  assertEquals(badFormat.code, 2);
  await Deno.mkdir(`${dir}/taken`);
  const taken = await cli(dir, "export", "data", "--to", `${dir}/taken`);
  assertEquals(taken.code, 1);
  assertMatch(taken.stderr, /taken exists already/);
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assertEquals(left, ["pipeline.yaml", "store", "taken"], "nothing written by the refused exports");
  await Deno.remove(dir, { recursive: true });
});

Deno.test(".npy bytes: header padded to 64, dict literal with shape tuple, raw little-endian values", () => {
  const bytes = encodeNpy({ shape: [3], data: new Int32Array([1, -2, 3]) });
  assertEquals([...bytes.slice(0, 8)], [0x93, 78, 85, 77, 80, 89, 1, 0]);
  const headerLength = bytes[8] | (bytes[9] << 8);
  assertEquals((10 + headerLength) % 64, 0);
  const header = new TextDecoder().decode(bytes.slice(10, 10 + headerLength));
  assertMatch(header, /^\{'descr': '<i4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  assertEquals([...new Int32Array(bytes.slice(10 + headerLength).buffer)], [1, -2, 3]);
  const scalar = new TextDecoder().decode(
    encodeNpy({ shape: [], data: new Float64Array([2]) }).slice(10, 64),
  );
  assertMatch(scalar, /'descr': '<f8', 'fortran_order': False, 'shape': \(\), /);
});
