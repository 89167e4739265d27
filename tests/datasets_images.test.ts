/**
 * Image data sets: MNIST's first images and labels are the IDX files' (the well-known first training labels
 * 5 0 4 1 9 2 1 3 1 4, test 7 2 1 0 4 1 4 9 5 9), pixels map to [−1, 1] by x = 2p/255 − 1 exactly, loads are
 * deterministic and prefixes of longer loads; downsampling is the block average (a hand example, and the
 * 14 × 14 load equals the average of the 28 × 28 one); Fashion-MNIST's split is class-balanced (row r is class
 * r mod 10), disjoint between train and test, and its images are the package's JSON values; bad options are
 * errors naming the option; the `dataset` task validates its parameters (spec errors, exit 2) and writes `x`
 * and `labels`, which a `corrupt` stage with the image operators reads.
 */
import { loadMnist } from "../datasets/mnist.ts";
import { loadFashionMnist } from "../datasets/fashion_mnist.ts";
import { toImages } from "../datasets/_images.ts";
import { datasetTask } from "../tasks/dataset.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";

/** Grey levels back from [−1, 1]. */
function levels(x: Float32Array, row: number, pixels: number): number[] {
  return Array.from(x.subarray(row * pixels, (row + 1) * pixels), (v) => Math.round(((v + 1) * 255) / 2));
}

Deno.test("mnist: shapes, labels, the [−1, 1] scaling, determinism and prefixes", async () => {
  const train = await loadMnist({ split: "train", samples: 200 });
  assertEquals(train.x.shape, [200, 28, 28, 1]);
  assertEquals(train.labels.shape, [200]);
  assert(train.labels.data instanceof Int32Array && train.x.data instanceof Float32Array, "dtypes");
  assertEquals(Array.from(train.labels.data.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  const test = await loadMnist({ split: "test", samples: 10 });
  assertEquals(Array.from(test.labels.data), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  // Every value is 2p/255 − 1 for an integer grey level p in 0…255; both ends occur.
  let lo = Infinity, hi = -Infinity;
  for (const v of train.x.data) {
    const p = ((v + 1) * 255) / 2;
    assert(Math.abs(p - Math.round(p)) < 1e-4 && p > -1e-4 && p < 255 + 1e-4, `value ${v}`);
    lo = Math.min(lo, v), hi = Math.max(hi, v);
  }
  assert(lo === -1 && hi === 1, `range [${lo}, ${hi}]`);
  const again = await loadMnist({ split: "train", samples: 50 });
  assert(again.x.data.every((v, i) => v === train.x.data[i]), "a shorter load is a prefix, bit for bit");
});

Deno.test("downsampling is the area average: a hand example, and 14 × 14 MNIST from its 28 × 28", async () => {
  // One image: pixel (i, j) = i + 28·j mod 256; the 2 × 2 block at (0, 0) holds 0, 28, 1, 29 (mean 14.5).
  const pixels = Uint8Array.from({ length: 784 }, (_, k) => (Math.floor(k / 28) + 28 * (k % 28)) % 256);
  const small = toImages(pixels, 1, 14);
  assertEquals(small.shape, [1, 14, 14, 1]);
  assert(Math.abs(small.data[0] - (2 * 14.5 / 255 - 1)) < 1e-7, `block (0, 0): ${small.data[0]}`);
  // Block (1, 2): rows 2, 3 and columns 4, 5: (2 + 112) + (2 + 140) + (3 + 112) + (3 + 140) = 514 → 128.5.
  assert(Math.abs(small.data[1 * 14 + 2] - (2 * 128.5 / 255 - 1)) < 1e-7, `block (1, 2): ${small.data[16]}`);
  const one = toImages(pixels, 1, 1).data[0];
  const mean = pixels.reduce((a, v) => a + v, 0) / 784;
  assert(Math.abs(one - (2 * mean / 255 - 1)) < 1e-6, `size 1 is the image mean: ${one}`);

  const full = await loadMnist({ split: "test", samples: 3 });
  const half = await loadMnist({ split: "test", samples: 3, size: 7 });
  assertEquals(half.x.shape, [3, 7, 7, 1]);
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 7; j++) {
        let s = 0;
        for (let u = 0; u < 4; u++) {
          for (let v = 0; v < 4; v++) s += full.x.data[r * 784 + (4 * i + u) * 28 + 4 * j + v];
        }
        const got = half.x.data[(r * 7 + i) * 7 + j];
        assert(Math.abs(got - s / 16) < 1e-6, `image ${r} block (${i}, ${j}): ${got} vs ${s / 16}`);
      }
    }
  }
});

Deno.test("fashion-mnist: balanced deterministic split, the package's pixels, disjoint train and test", async () => {
  const train = await loadFashionMnist({ split: "train", samples: 40 });
  const test = await loadFashionMnist({ split: "test", samples: 20, size: 14 });
  assertEquals(train.x.shape, [40, 28, 28, 1]);
  assertEquals(test.x.shape, [20, 14, 14, 1]);
  assert(train.labels.data.every((c, r) => c === r % 10), `train labels ${train.labels.data}`);
  assert(test.labels.data.every((c, r) => c === r % 10), `test labels ${test.labels.data}`);
  // Against the package's JSON: row 23 is class 3's image 2; test row 7 is class 7's image 6000.
  const url = (c: number) => new URL(`clothes/${c}.json`, import.meta.resolve("fashion-mnist"));
  const class3 = JSON.parse(await Deno.readTextFile(url(3))).data.filter((a: number[]) => a.length);
  assertEquals(levels(train.x.data, 23, 784), class3[2]);
  const testFull = await loadFashionMnist({ split: "test", samples: 20 });
  const class7 = JSON.parse(await Deno.readTextFile(url(7))).data.filter((a: number[]) => a.length);
  assertEquals(levels(testFull.x.data, 7, 784), class7[6000]);
  const again = await loadFashionMnist({ split: "train", samples: 40 });
  assert(again.x.data.every((v, i) => v === train.x.data[i]), "deterministic");
  // Disjoint: no test image among the first training images of its class (the split is by index).
  for (let r = 0; r < 20; r++) {
    const t = levels(testFull.x.data, r, 784).join();
    for (let q = r % 10; q < 40; q += 10) {
      assert(levels(train.x.data, q, 784).join() !== t, `test ${r} = train ${q}`);
    }
  }
});

Deno.test("image loaders: bad split, samples and size are errors naming them", async () => {
  await assertRejects(() => loadMnist({ split: "test", size: 5 }), /mnist: size must divide 28.*got 5/);
  await assertRejects(
    () => loadFashionMnist({ split: "train", size: 0 }),
    /fashion-mnist: size must divide 28/,
  );
  await assertRejects(
    () => loadMnist({ split: "valid" as "test" }),
    /split must be "train" or "test", got "valid"/,
  );
  await assertRejects(() => loadMnist({ split: "test", samples: 10001 }), /samples.*\[1, 10000\].*got 10001/);
  await assertRejects(() => loadFashionMnist({ split: "train", samples: 0 }), /samples.*\[1, 60000\]/);
  const schema = datasetTask.params;
  const issues = (p: Record<string, unknown>) => {
    const r = schema.safeParse(p);
    return r.success ? "" : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  };
  assertMatch(issues({ source: "mnist", size: 5 }), /size: size must divide 28/);
  assertMatch(issues({ source: "mnist", split: "val" }), /split/);
  assertMatch(
    issues({ source: "fashion-mnist", split: "test", samples: 20000 }),
    /samples: samples exceeds the split/,
  );
  assertMatch(
    issues({ source: "manifold", size: 14 }),
    /split: `split` and `size` apply to the image sources only/,
  );
  assertEquals(issues({ source: "mnist", split: "test", samples: 10000, size: 14 }), "");
});

Deno.test("dataset task: mnist images and labels into the store, corrupted by box and fourier", async () => {
  const dir = await scratch(`
stages:
  data: { task: dataset, params: { source: mnist, samples: 64, size: 14, split: test } }
  boxed: { task: corrupt, inputs: { x: data }, params: { operator: { kind: box, height: 5, width: 6 }, sigma_y: 0.001 } }
  mri: { task: corrupt, inputs: { x: data }, params: { operator: { kind: fourier, acceleration: 4 }, sigma_y: 0.01 } }
`);
  try {
    const run = await cli(dir, "run");
    assert(run.code === 0, `run failed: ${run.stderr}`);
    const data = await show(dir, "data");
    const text = JSON.stringify(data);
    assertMatch(text, /"x".*\[64,14,14,1\].*float32/);
    assertMatch(text, /"labels".*\[64\].*int32/);
    assertMatch(text, /"height":14/);
    assertMatch(JSON.stringify(await show(dir, "mri")), /\[64,14,14,1,2\]/);
    assertMatch(JSON.stringify(await show(dir, "boxed")), /"operator\/mask".*\[64,14,14,1\]/);
    const bad = await cli(dir, "run", "--set", "data.size=5");
    assert(bad.code === 2, `a bad size is a spec error (exit 2), got ${bad.code}`);
    assertMatch(bad.stderr, /size must divide 28/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
