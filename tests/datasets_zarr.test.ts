/**
 * Reading user observations from Zarr v3 (written with zarrita) and v2 (written by hand, as
 * zarr-python would): values round-trip exactly, shared parameters are broadcast, σ_y is found
 * as an attribute or an array, and bad inputs fail with errors naming the array and the index.
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { readZarrObservations } from "../datasets/zarr_observations.ts";
import { projectionOperator } from "../lib/operators/mod.ts";
import { Rng } from "../lib/random.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert(re.test((e as Error).message), `message "${(e as Error).message}" does not match ${re}`);
    return;
  }
  throw new Error(`expected an error matching ${re}`);
}

type Arr = { shape: number[]; data: Float32Array | Float64Array | Uint8Array | Int32Array };

/** Write a Zarr v3 group with arrays and attributes (uncompressed, one chunk each). */
async function writeV3(
  dir: string,
  attrs: Record<string, unknown>,
  arrays: Record<string, Arr>,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const root = zarr.root(new FileSystemStore(dir));
  await zarr.create(root, { attributes: attrs });
  for (const [name, a] of Object.entries(arrays)) {
    const dtype = a.data instanceof Float32Array
      ? "float32"
      : a.data instanceof Float64Array
      ? "float64"
      : a.data instanceof Int32Array
      ? "int32"
      : "uint8";
    const arr = await zarr.create(root.resolve(name), { shape: a.shape, chunkShape: a.shape, dtype });
    const stride = a.shape.map((_, i) => a.shape.slice(i + 1).reduce((x, y) => x * y, 1));
    await zarr.set(arr, null, { data: a.data, shape: a.shape, stride } as never);
  }
}

/** Write a Zarr v2 group by hand: .zgroup/.zattrs/.zarray and one raw little-endian chunk per array. */
async function writeV2(
  dir: string,
  attrs: Record<string, unknown>,
  arrays: Record<string, Arr & { dtype: string }>,
) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/.zgroup`, JSON.stringify({ zarr_format: 2 }));
  await Deno.writeTextFile(`${dir}/.zattrs`, JSON.stringify(attrs));
  for (const [name, a] of Object.entries(arrays)) {
    await Deno.mkdir(`${dir}/${name}`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/${name}/.zarray`,
      JSON.stringify({
        zarr_format: 2,
        shape: a.shape,
        chunks: a.shape,
        dtype: a.dtype,
        compressor: null,
        fill_value: 0,
        filters: null,
        order: "C",
      }),
    );
    const key = a.shape.map(() => "0").join(".");
    await Deno.writeFile(
      `${dir}/${name}/${key}`,
      new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    );
  }
}

Deno.test("datasets_zarr: v3 projection observations round-trip", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const n = 50;
    const x = new Float32Array(n * 5);
    Rng.fromSeed(1, "x").fillNormal(x);
    const op = projectionOperator({ xShape: [5], m: 2 });
    const { y, params } = op.corrupt({ shape: [n, 5], data: x }, 2, 0.05);
    await writeV3(dir, { sigma_y: 0.05 }, {
      y,
      matrices: params.matrices as Arr,
      x: { shape: [n, 5], data: x },
    });
    const obs = await readZarrObservations(dir);
    assert(obs.zarrFormat === 3 && obs.kind === "projection", `${obs.zarrFormat} ${obs.kind}`);
    assert(obs.xShape.join() === "5" && obs.sigmaY === 0.05, `xShape ${obs.xShape}, sigma ${obs.sigmaY}`);
    assert(obs.y.data.every((v, i) => v === y.data[i]), "y round-trips");
    assert(obs.params.matrices.data.every((v, i) => v === params.matrices.data[i]), "matrices round-trip");
    assert(obs.x !== undefined && obs.x.data[7] === x[7], "x read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("datasets_zarr: v2 mask with a shared bool mask and σ_y as an array", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const n = 3;
    const y = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    await writeV2(dir, { operator: "mask" }, {
      y: { shape: [n, 4], data: y, dtype: "<f4" },
      mask: { shape: [4], data: Uint8Array.of(1, 0, 1, 1), dtype: "|b1" },
      sigma_y: { shape: [1], data: Float64Array.of(0.1), dtype: "<f8" },
    });
    const obs = await readZarrObservations(dir);
    assert(obs.zarrFormat === 2 && obs.kind === "mask", `${obs.zarrFormat} ${obs.kind}`);
    assert(obs.params.mask.shape.join() === "3,4", `mask broadcast to ${obs.params.mask.shape}`);
    assert(obs.sigmaY === 0.1, `sigma ${obs.sigmaY}`);
    assert(obs.y.data[1] === 0 && obs.y.data[5] === 0 && obs.y.data[2] === 3, "unobserved entries zeroed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("datasets_zarr: v3 blur with a kernel, inferred operator", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const y = new Float32Array(2 * 4 * 4);
    await writeV3(dir, { sigma_y: 0.2 }, {
      y: { shape: [2, 4, 4, 1], data: y },
      kernel: { shape: [3, 3], data: Float32Array.of(0, 0.1, 0, 0.1, 0.6, 0.1, 0, 0.1, 0) },
    });
    const obs = await readZarrObservations(dir);
    assert(obs.kind === "blur" && obs.xShape.join() === "4,4,1", `${obs.kind} ${obs.xShape}`);
    assert(obs.params.kernel.data[4] === Math.fround(0.6), "kernel read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("datasets_zarr: clear errors", async () => {
  const base = await Deno.makeTempDir();
  try {
    const nanY = Float32Array.of(0, 1, 2, 3, NaN, 5);
    await writeV3(`${base}/nan`, { sigma_y: 0.1 }, {
      y: { shape: [3, 2], data: nanY },
      matrices: { shape: [2, 5], data: new Float32Array(10).fill(1) },
    });
    await expectReject(readZarrObservations(`${base}/nan`), /"y".*index \[2, 0\]/);

    await writeV3(`${base}/rows`, { sigma_y: 0.1 }, {
      y: { shape: [3, 2], data: new Float32Array(6) },
      matrices: { shape: [4, 2, 5], data: new Float32Array(40).fill(1) },
    });
    await expectReject(readZarrObservations(`${base}/rows`), /"matrices" has 4 rows but y has 3/);

    await writeV3(`${base}/m`, { sigma_y: 0.1 }, {
      y: { shape: [3, 2], data: new Float32Array(6) },
      matrices: { shape: [3, 3, 5], data: new Float32Array(45).fill(1) },
    });
    await expectReject(
      readZarrObservations(`${base}/m`),
      /"matrices" has 3 rows per observation, but y has m = 2/,
    );

    await writeV3(`${base}/nosigma`, {}, {
      y: { shape: [3, 2], data: new Float32Array(6) },
      matrices: { shape: [2, 5], data: new Float32Array(10).fill(1) },
    });
    await expectReject(readZarrObservations(`${base}/nosigma`), /sigma_y/);

    await writeV3(`${base}/mask`, { sigma_y: 0.1 }, {
      y: { shape: [2, 3], data: new Float32Array(6) },
      mask: { shape: [2, 3], data: Uint8Array.of(1, 0, 1, 0, 2, 1) },
    });
    await expectReject(readZarrObservations(`${base}/mask`), /"mask" must be binary.*\[1, 1\]/);

    await writeV3(`${base}/empty`, { sigma_y: 0.1 }, { y: { shape: [2, 3], data: new Float32Array(6) } });
    await expectReject(readZarrObservations(`${base}/empty`), /no operator parameters/);

    await writeV3(`${base}/zero`, { sigma_y: 0.1 }, {
      y: { shape: [2, 1], data: new Float32Array(2) },
      matrices: { shape: [2, 1, 3], data: Float32Array.of(1, 0, 0, 0, 0, 0) },
    });
    await expectReject(readZarrObservations(`${base}/zero`), /row 0 of observation 1 is all zeros/);

    await expectReject(readZarrObservations(`${base}/missing`), /not a readable Zarr directory/);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
