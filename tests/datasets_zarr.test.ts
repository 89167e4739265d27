/**
 * Reading user observations from Zarr v3 (written with zarrita) and v2 (written by hand, as
 * zarr-python would): values round-trip exactly, shared parameters are broadcast, σ_y is found
 * as an attribute or an array, and bad inputs fail with an InvalidObservationsError naming the array and
 * the index. Images `[N, H, W, C]` with masks, a shared blur kernel, boxes (stored as masks) and k-space
 * columns (per image or shared), with the configuration that fresh corruptions use inferred from them.
 */
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { InvalidObservationsError, readZarrObservations } from "../datasets/zarr_observations.ts";
import {
  blurOperator,
  boxOperator,
  fourierOperator,
  maskOperator,
  projectionOperator,
} from "../lib/operators/mod.ts";
import { Rng } from "../lib/random.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function assertEq(actual: unknown, expected: unknown, msg: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  assert(a === e, `${msg}: ${a}, expected ${e}`);
}

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert(re.test((e as Error).message), `message "${(e as Error).message}" does not match ${re}`);
    // The group's fault, not the reader's: the dataset task turns it into a message without a stack.
    assert(
      e instanceof InvalidObservationsError,
      `${(e as Error).name}, not InvalidObservationsError: ${re}`,
    );
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

/** A v2 group: y `[n, 2]` of `dtype` from raw `bytes` (one chunk), shared 2×3 matrices, σ_y `sigma`. */
async function writeRawY(
  dir: string,
  y: {
    shape: number[];
    dtype: string;
    chunks?: number[];
    compressor?: unknown;
    chunkFiles: Record<string, Uint8Array>;
  },
  sigma = 0.1,
): Promise<void> {
  await writeV2(dir, { sigma_y: sigma }, {
    matrices: { shape: [2, 3], data: Float32Array.of(1, 0, 0, 0, 1, 0), dtype: "<f4" },
  });
  await Deno.mkdir(`${dir}/y`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/y/.zarray`,
    JSON.stringify({
      zarr_format: 2,
      shape: y.shape,
      chunks: y.chunks ?? y.shape,
      dtype: y.dtype,
      compressor: y.compressor ?? null,
      fill_value: 0,
      filters: null,
      order: "C",
    }),
  );
  for (const [key, bytes] of Object.entries(y.chunkFiles)) await Deno.writeFile(`${dir}/y/${key}`, bytes);
}

Deno.test("datasets_zarr: missing or truncated chunks, wrong dtypes, empty, huge and extreme inputs are named errors", async () => {
  const base = await Deno.makeTempDir();
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const rows = (n: number) => {
    const v = new Float32Array(n * 2);
    Rng.fromSeed(5).fillNormal(v);
    return v;
  };
  try {
    // 48 rows in 3 chunks of 16; chunk 1.0 missing (zarr would read 16 rows of zeros).
    await writeRawY(`${base}/gap`, {
      shape: [48, 2],
      dtype: "<f4",
      chunks: [16, 2],
      chunkFiles: { "0.0": bytesOf(rows(16)), "2.0": bytesOf(rows(16)) },
    });
    await expectReject(readZarrObservations(`${base}/gap`), /array "y": chunk 1\.0 is missing/);

    // A Blosc chunk cut short.
    const { Blosc } = await import("numcodecs");
    const blosc = { id: "blosc", cname: "lz4", clevel: 5, shuffle: 1, blocksize: 0 };
    const packed = await Blosc.fromConfig(blosc).encode(bytesOf(rows(48)));
    await writeRawY(`${base}/cut`, {
      shape: [48, 2],
      dtype: "<f4",
      compressor: blosc,
      chunkFiles: { "0.0": packed.slice(0, packed.length - 40) },
    });
    await expectReject(readZarrObservations(`${base}/cut`), /array "y": chunk 0\.0 is truncated or damaged/);
    await writeRawY(`${base}/whole`, {
      shape: [48, 2],
      dtype: "<f4",
      compressor: blosc,
      chunkFiles: { "0.0": packed },
    });
    assert(
      (await readZarrObservations(`${base}/whole`)).y.data[95] === rows(48)[95],
      "a whole Blosc chunk reads",
    );

    for (
      const [dtype, bytes] of [
        ["|i1", new Uint8Array(8)],
        ["<f2", new Uint8Array(16)],
        ["|b1", new Uint8Array(8)],
        ["<i8", bytesOf(BigInt64Array.of(2n ** 62n, 1n, 0n, 0n, 0n, 0n, 0n, 0n))],
      ] as const
    ) {
      await writeRawY(`${base}/${dtype.slice(1)}`, { shape: [4, 2], dtype, chunkFiles: { "0.0": bytes } });
      await expectReject(
        readZarrObservations(`${base}/${dtype.slice(1)}`),
        /array "y" (has dtype \w+, expected float32 or float64|cannot be read: .*expected dtype float32 or float64)/,
      );
    }
    await writeRawY(`${base}/c8`, { shape: [4, 2], dtype: "<c8", chunkFiles: { "0.0": new Uint8Array(64) } });
    await expectReject(readZarrObservations(`${base}/c8`), /array "y" (has dtype|cannot be read)/);

    await writeRawY(`${base}/none`, { shape: [0, 2], dtype: "<f4", chunkFiles: {} });
    await expectReject(
      readZarrObservations(`${base}/none`),
      /array "y" has shape \[0,2\]: it holds no values/,
    );

    await writeRawY(`${base}/huge`, { shape: [1e9, 2], dtype: "<f4", chunks: [1000, 2], chunkFiles: {} });
    await expectReject(
      readZarrObservations(`${base}/huge`),
      /array "y" has shape \[1000000000,2\].*available memory/,
    );

    for (const sigma of [1e300, 1e-300]) {
      await writeRawY(`${base}/s${sigma}`, {
        shape: [4, 2],
        dtype: "<f4",
        chunkFiles: { "0.0": bytesOf(rows(4)) },
      }, sigma);
      await expectReject(
        readZarrObservations(`${base}/s${sigma}`),
        /sigma_y must be a positive number between 1e-18 and 1e18/,
      );
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("datasets_zarr: images [N, H, W, C]: masks, a shared blur kernel, boxes and k-space columns", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const n = 6, shape = [6, 5, 3], d = 90;
    const x = new Float32Array(n * d);
    Rng.fromSeed(3, "x").fillNormal(x);
    const clean = { shape: [n, ...shape], data: x };
    const read = async (name: string, attrs: Record<string, unknown>, arrays: Record<string, Arr>) => {
      await writeV3(`${dir}/${name}`, { sigma_y: 0.01, ...attrs }, arrays);
      return await readZarrObservations(`${dir}/${name}`);
    };
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

    const masked = maskOperator({ xShape: shape, keep: 0.5 }).corrupt(clean, 1, 0.01);
    const m = await read("mask", {}, { y: masked.y, mask: masked.params.mask as Arr });
    assert(m.kind === "mask" && m.xShape.join() === "6,5,3" && same(m.y.data, masked.y.data), "mask images");

    const kernel = { shape: [3, 3], data: Float32Array.of(0, 0.1, 0, 0.1, 0.6, 0.1, 0, 0.1, 0) };
    const blurred = blurOperator({ xShape: shape, kernel: Array.from(kernel.data) }).corrupt(clean, 2, 0.01);
    const b = await read("blur", {}, { y: blurred.y, kernel });
    assert(b.kind === "blur" && b.xShape.join() === "6,5,3", `blur images: ${b.kind} [${b.xShape}]`);
    assert(
      same(
        b.family.applyHost(clean, b.params).data,
        blurOperator({ xShape: shape, kernel: Array.from(kernel.data) }).applyHost(clean, blurred.params)
          .data,
      ),
      "blur operator rebuilt",
    );

    const boxed = boxOperator({ xShape: shape, height: 2, width: 3 }).corrupt(clean, 3, 0.01);
    const bx = await read("box", { operator: "box" }, { y: boxed.y, mask: boxed.params.mask as Arr });
    assert(bx.kind === "box" && same(bx.params.mask.data, boxed.params.mask.data), "box mask read");
    assertEq(bx.config, { xShape: shape, height: 2, width: 3 }, "box size inferred from the hidden pixels");

    const family = fourierOperator({ xShape: shape, acceleration: 2.5, center: 0.4 });
    const mri = family.corrupt(clean, 4, 0.01);
    const f = await read("fourier", {}, { y: mri.y, columns: mri.params.columns as Arr });
    assert(
      f.kind === "fourier" && f.xShape.join() === "6,5,3" && same(f.y.data, mri.y.data),
      `fourier: ${f.kind}`,
    );
    // 2 of 5 columns each (band {4, 0}: nothing else), so acceleration 5/2 and the band 2/5.
    assertEq(f.config, { xShape: shape, acceleration: 2.5, center: 0.4, shared: false }, "fourier config");
    assert(
      same(f.family.applyHost(clean, f.params).data, family.applyHost(clean, mri.params).data),
      "same A",
    );

    const shared = fourierOperator({ xShape: shape, acceleration: 5 / 3, shared: true }).corrupt(
      clean,
      5,
      0.01,
    );
    const noisy = Float32Array.from(shared.y.data, (v) => v + 1); // unsampled entries must be zeroed on reading
    const s = await read("shared", {}, {
      y: { shape: shared.y.shape, data: noisy },
      columns: shared.params.columns as Arr,
    });
    assert(
      s.family.perObservation.length === 0 && s.params.columns.shape.join() === "5",
      "shared columns stay shared",
    );
    const cols = shared.params.columns.data;
    assert(
      s.y.data.every((v, i) => (cols[Math.floor(i / 6) % 5] ? v === noisy[i] : v === 0)),
      "unsampled entries zeroed",
    );

    await expectReject(
      read("bad-y", {}, { y: { shape: [n, 6, 5, 3], data: x }, columns: mri.params.columns as Arr }),
      /array "y" has event shape \[6,5,3\], fourier observations need \[6,5, 2\]/,
    );
    await expectReject(
      read("bad-columns", {}, { y: mri.y, columns: { shape: [n, 5], data: new Uint8Array(n * 5).fill(2) } }),
      /array "columns" must be binary/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
