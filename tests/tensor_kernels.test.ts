/**
 * The wasm kernels agree with the pure-JS cpu backend to 1e-4 relative: the patched ones
 * (lib/tensor/wasm_kernels.ts) and, where a BLAS is found, the BLAS ones (lib/tensor/_blas_*.ts) that
 * replace them, over the shapes the networks use, transposes, broadcast batches, fused epilogues,
 * strides 1–3, dilation, 'same' and 'valid' padding. tests/tensor_blas.test.ts runs this file again
 * with `DIEM_BLAS=off`, so both paths are tested wherever a BLAS is installed.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { grads as gradientsOf } from "../lib/tensor/gradients.ts";
import { gatedResidual, groupNorm, groupNormSilu } from "../lib/nn/_layers.ts";

const TOL = 1e-4;

function randn(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a;
}

/** Run `f` on cpu and on wasm with the same host inputs; return both flattened outputs. */
async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const b of ["cpu", "wasm"] as const) {
    await initBackend(b);
    const r = f();
    const list = Array.isArray(r) ? r : [r];
    out.push(await Promise.all(list.map(async (t) => (await t.data()) as Float32Array)));
    tf.dispose(list);
  }
  return [out[0], out[1]];
}

Deno.test("the wasm backend uses a BLAS unless DIEM_BLAS=off", async () => {
  const info = await initBackend("wasm");
  if (/^off$/i.test(Deno.env.get("DIEM_BLAS") ?? "")) {
    assert(info.blas === null && /BLAS off/.test(info.detail), info.detail);
  } else if (info.blas) {
    assert(info.detail.includes(info.blas.name), info.detail);
  } else {
    assert(/no BLAS found/.test(info.detail), info.detail);
  }
});

Deno.test("wasm BatchMatMul with broadcast batches and network shapes, fused epilogues, match cpu", async () => {
  const rng = Rng.fromSeed(3, "matmul-shapes");
  const pairs: [number[], number[], boolean, boolean][] = [
    [[1024, 69], [69, 256], false, false], // MLP first layer (features + embedding)
    [[1024, 256], [1024, 256], true, false], // its weight gradient
    [[1024, 256], [69, 256], false, true], // its input gradient
    [[3, 17, 8], [8, 5], false, false], // batch folded into rows
    [[17, 8], [3, 8, 5], false, false], // broadcast A
    [[3, 8, 17], [1, 8, 5], true, false], // broadcast B with a transposed A
  ];
  for (const [sa, sb, ta, tb] of pairs) {
    const a = randn(rng, sa.reduce((p, q) => p * q, 1)), b = randn(rng, sb.reduce((p, q) => p * q, 1));
    const [cpu, wasm] = await onBoth(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb));
    assertClose(wasm[0], cpu[0], TOL, `matMul ${sa}×${sb} ta=${ta} tb=${tb}`);
  }
  const a = randn(rng, 64 * 33), b = randn(rng, 33 * 20), bias = randn(rng, 20);
  for (const activation of ["linear", "relu", "relu6", "sigmoid", "leakyrelu", "elu"] as const) {
    for (const withBias of [true, false]) {
      const [cpu, wasm] = await onBoth(() =>
        tf.fused.matMul({
          a: tf.tensor(a, [64, 33]),
          b: tf.tensor(b, [33, 20]),
          bias: withBias ? tf.tensor(bias) : undefined,
          activation,
          leakyreluAlpha: 0.3,
        })
      );
      assertClose(wasm[0], cpu[0], TOL, `fused matMul ${activation} bias=${withBias}`);
    }
  }
});

Deno.test("wasm Conv2D and its gradients at the U-Net's shapes match cpu", async () => {
  const rng = Rng.fromSeed(4, "unet-conv");
  const cases: [number[], number[], number, "same" | "valid", number][] = [
    [[4, 28, 28, 1], [3, 3, 1, 32], 1, "same", 1], // first conv
    [[1, 28, 28, 32], [3, 3, 32, 32], 1, "same", 1], // blocks, level 0: shifted GEMMs, one image per call
    [[1, 14, 14, 64], [3, 3, 64, 64], 1, "same", 1], // level 1: four images per call, a partial block
    [[2, 7, 7, 64], [3, 3, 64, 64], 1, "same", 1], // level 2: sixteen images per call
    [[1, 28, 28, 32], [3, 3, 32, 1], 1, "same", 1], // output conv, Co = 1
    [[4, 28, 28, 32], [3, 3, 32, 64], 2, "same", 1], // stride-2 downsampling
    [[4, 14, 14, 64], [1, 1, 64, 64], 1, "same", 1], // 1×1 skip projection: a plain GEMM
    [[2, 9, 7, 8], [1, 1, 8, 6], 2, "valid", 1], // 1×1 with a stride: im2col
    [[2, 12, 10, 3], [3, 3, 3, 5], 1, "same", 2], // dilated
  ];
  for (const [xs, ws, s, pad, dil] of cases) {
    const x = randn(rng, xs.reduce((p, q) => p * q, 1)), w = randn(rng, ws.reduce((p, q) => p * q, 1));
    const outShape = tf.backend_util.computeConv2DInfo(
      xs as [number, number, number, number],
      ws as [number, number, number, number],
      s,
      dil,
      pad,
    ).outShape;
    const g = randn(rng, outShape.reduce((p, q) => p * q, 1));
    const conv = (xx: tf.Tensor, ww: tf.Tensor) =>
      tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, s, pad, "NHWC", dil);
    const [cpu, wasm] = await onBoth(() => {
      const [xt, wt] = [tf.tensor(x, xs), tf.tensor(w, ws)];
      // The cpu backend's conv gradients do not take dilation with stride 1 only; skip its grads then.
      const grads = dil === 1
        ? gradientsOf((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), tf.tensor(g, outShape))))(
          [
            xt,
            wt,
          ],
        )
        : [];
      return [conv(xt, wt), ...grads];
    });
    const what = `x ${xs} w ${ws} s=${s} ${pad} d=${dil}`;
    assertClose(wasm[0], cpu[0], TOL, `conv ${what}`);
    if (dil === 1) {
      assertClose(wasm[1], cpu[1], TOL, `dx ${what}`);
      assertClose(wasm[2], cpu[2], TOL, `dw ${what}`);
    }
  }
});

Deno.test("wasm Conv2D (plain, fused with a bias, strided) and its input gradient give an image the same bits in any batch", async () => {
  await initBackend("wasm");
  const rng = Rng.fromSeed(5, "conv-invariance");
  for (const [h, c] of [[7, 16], [14, 8], [28, 4]]) {
    const batch = 14, first = 5, count = 3;
    const x = tf.tensor(randn(rng, batch * h * h * c), [batch, h, h, c]) as tf.Tensor4D;
    const w = tf.tensor(randn(rng, 9 * c * c), [3, 3, c, c]) as tf.Tensor4D;
    const part = tf.slice(x, [first, 0, 0, 0], [count, -1, -1, -1]);
    const bias = tf.tensor(randn(rng, c));
    const fused = (t: tf.Tensor4D) => tf.fused.conv2d({ x: t, filter: w, strides: 1, pad: "same", bias });
    // Stride 2 (the U-Net's downsampling) takes the im2col path; its input gradient maps h/2 back to h.
    const half = Math.ceil(h / 2), small = tf.slice(x, [0, 0, 0, 0], [-1, half, half, -1]) as tf.Tensor4D;
    const smallPart = tf.slice(small, [first, 0, 0, 0], [count, -1, -1, -1]);
    const pairs = [
      [tf.conv2d(x, w, 1, "same"), tf.conv2d(part, w, 1, "same")],
      [fused(x), fused(part)],
      [
        tf.conv2dTranspose(x, w, [batch, h, h, c], 1, "same"),
        tf.conv2dTranspose(part, w, [count, h, h, c], 1, "same"),
      ],
      [tf.conv2d(x, w, 2, "same"), tf.conv2d(part, w, 2, "same")],
      [
        tf.conv2dTranspose(small, w, [batch, h, h, c], 2, "same"),
        tf.conv2dTranspose(smallPart, w, [count, h, h, c], 2, "same"),
      ],
    ];
    for (const [k, [all, alone]] of pairs.entries()) {
      const a = await tf.slice(all, [first, 0, 0, 0], [count, -1, -1, -1]).data(), b = await alone.data();
      assert(
        a.every((v, i) => v === b[i]),
        `${h}×${h}×${c} (case ${k}): images ${first}… differ alone and in a batch of ${batch}`,
      );
    }
    tf.dispose([x, w, part, bias, small, smallPart, ...pairs.flat()]);
  }
});

Deno.test("wasm BatchMatMul and _FusedMatMul with transposes match cpu", async () => {
  const rng = Rng.fromSeed(1, "matmul");
  const a = randn(rng, 2 * 37 * 53), b = randn(rng, 2 * 53 * 29), bias = randn(rng, 29);
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const aShape = ta ? [2, 53, 37] : [2, 37, 53];
      const bShape = tb ? [2, 29, 53] : [2, 53, 29];
      const [cpu, wasm] = await onBoth(() => [
        tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb),
        tf.fused.matMul({
          a: tf.tensor(a.subarray(0, 37 * 53), aShape.slice(1)),
          b: tf.tensor(b.subarray(0, 53 * 29), bShape.slice(1)),
          transposeA: ta,
          transposeB: tb,
          bias: tf.tensor(bias),
          activation: "relu",
        }),
      ]);
      assertClose(wasm[0], cpu[0], TOL, `matMul ta=${ta} tb=${tb}`);
      assertClose(wasm[1], cpu[1], TOL, `fused matMul ta=${ta} tb=${tb}`);
    }
  }
});

Deno.test("wasm Conv2D / Conv2DBackpropFilter / Conv2DBackpropInput match cpu", async () => {
  const rng = Rng.fromSeed(2, "conv");
  const cases: [number, number, number, "same" | "valid"][] = [];
  for (const k of [1, 3, 5]) {
    for (const s of [1, 2, 3]) for (const p of ["same", "valid"] as const) cases.push([k, s, 0, p]);
  }
  for (const [k, s, , pad] of cases) {
    const [B, H, W, Ci, Co] = [2, 11, 9, 3, 4];
    const x = randn(rng, B * H * W * Ci), w = randn(rng, k * k * Ci * Co);
    // Gradients of a weighted sum of the conv output give both backprop kernels.
    const outShape = tf.backend_util.computeConv2DInfo([B, H, W, Ci], [k, k, Ci, Co], s, 1, pad).outShape;
    const g = randn(rng, outShape.reduce((p, q) => p * q, 1));
    const [cpu, wasm] = await onBoth(() => {
      const [xt, wt] = [tf.tensor(x, [B, H, W, Ci]), tf.tensor(w, [k, k, Ci, Co])];
      const f = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, s, pad), tf.tensor(g, outShape)));
      const grads = gradientsOf(f)([xt, wt]);
      return [...grads, tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, s, pad)];
    });
    assertClose(wasm[0], cpu[0], TOL, `dx k=${k} s=${s} ${pad}`);
    assertClose(wasm[1], cpu[1], TOL, `dw k=${k} s=${s} ${pad}`);
    assertClose(wasm[2], cpu[2], TOL, `conv k=${k} s=${s} ${pad}`);
  }
});

Deno.test("wasm FusedConv2D (bias, activations) and its gradients match cpu", async () => {
  // Linear with a bias [Co] or none: the BLAS kernels with the bias added per block of rows (shifted
  // GEMMs, 1×1, im2col with a stride); other activations: the backend's own kernel.
  const rng = Rng.fromSeed(10, "fused-conv");
  const cases: [number[], number[], number, string, boolean][] = [
    [[3, 14, 14, 8], [3, 3, 8, 16], 1, "linear", true],
    [[3, 14, 14, 8], [3, 3, 8, 16], 2, "linear", true],
    [[3, 7, 7, 8], [1, 1, 8, 16], 1, "linear", true],
    [[3, 7, 7, 8], [3, 3, 8, 16], 1, "linear", false],
    [[3, 7, 7, 8], [3, 3, 8, 16], 1, "relu", true],
  ];
  for (const [xs, ws, s, activation, withBias] of cases) {
    const x = randn(rng, xs.reduce((p, q) => p * q, 1)), w = randn(rng, ws.reduce((p, q) => p * q, 1));
    const bias = randn(rng, ws[3]);
    const outShape = tf.backend_util.computeConv2DInfo(
      xs as [number, number, number, number],
      ws as [number, number, number, number],
      s,
      1,
      "same",
    ).outShape;
    const g = randn(rng, outShape.reduce((p, q) => p * q, 1));
    const [cpu, wasm] = await onBoth(() => {
      const inputs = [tf.tensor(x, xs), tf.tensor(w, ws), tf.tensor(bias)];
      const conv = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.fused.conv2d({
          x: xx as tf.Tensor4D,
          filter: ww as tf.Tensor4D,
          strides: s,
          pad: "same",
          bias: withBias ? bb : undefined,
          activation: activation as "linear",
        });
      const loss = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(conv(xx, ww, bb), tf.tensor(g, outShape)));
      const grads = activation === "linear" ? gradientsOf(loss)(inputs.slice(0, withBias ? 3 : 2)) : [];
      return [conv(inputs[0], inputs[1], inputs[2]), ...grads];
    });
    for (const [i, what] of ["y", "dx", "dw", "dbias"].entries()) {
      if (i < cpu.length) {
        assertClose(wasm[i], cpu[i], TOL, `fused conv ${what} ${xs} ${ws} s=${s} ${activation}`);
      }
    }
  }
});

Deno.test("wasm stride-1 Conv2D with asymmetric explicit padding and its gradients match cpu", async () => {
  // The shifted GEMMs' grid shares each side's padding with the next row or image: unequal sides.
  const rng = Rng.fromSeed(6, "conv-explicit-pad");
  const pads: tf.backend_util.ExplicitPadding[] = [
    [[0, 0], [2, 0], [0, 1], [0, 0]],
    [[0, 0], [0, 2], [1, 0], [0, 0]],
    [[0, 0], [1, 1], [0, 0], [0, 0]],
  ];
  const [xs, ws] = [[3, 6, 5, 4], [3, 3, 4, 8]];
  for (const pad of pads) {
    const x = randn(rng, xs.reduce((p, q) => p * q, 1)), w = randn(rng, ws.reduce((p, q) => p * q, 1));
    const info = tf.backend_util.computeConv2DInfo(
      xs as [number, number, number, number],
      ws as [
        number,
        number,
        number,
        number,
      ],
      1,
      1,
      pad,
    );
    const g = randn(rng, info.outShape.reduce((p, q) => p * q, 1));
    const conv = (xx: tf.Tensor, ww: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, pad);
    const [cpu, wasm] = await onBoth(() => {
      const [xt, wt] = [tf.tensor(x, xs), tf.tensor(w, ws)];
      const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), tf.tensor(g, info.outShape)));
      return [conv(xt, wt), ...gradientsOf(f)([xt, wt])];
    });
    for (const [i, what] of ["conv", "dx", "dw"].entries()) {
      assertClose(wasm[i], cpu[i], TOL, `${what} pad ${JSON.stringify(pad)}`);
    }
  }
});

Deno.test("wasm Sum and Mean over the networks' axis patterns match cpu", async () => {
  const rng = Rng.fromSeed(6, "reductions");
  const cases: [number[], number | number[] | null, boolean][] = [
    [[6, 5, 7, 8], [0, 1, 2], false], // bias gradient (BLAS: column sums)
    [[6, 5, 7, 8], [1, 2], true], // modulation gradient [B, 1, 1, C] (BLAS: per image)
    [[64, 28, 28, 32], [0, 1, 2], false], // the U-Net's level 0
    [[64, 28, 28, 32], [2, 1], true],
    [[4, 14, 14, 64], [0, 1, 2], true],
    [[4, 14, 14, 64], [1, 2], false],
    [[6, 35, 4, 2], [1, 3], true], // GroupNorm statistics
    [[6, 35, 4, 2], [3, 1], false], // the same, axes unordered
    [[6, 1, 7, 8], [1, 2], true], // a size-1 axis
    [[300, 5], -1, false], // layer norm, MLP losses
    [[300, 5], 0, true],
    [[3, 4, 5], null, false], // everything
    [[4, 1, 3], [0, 2], true],
    [[7], 0, false],
  ];
  for (const [shape, axis, keepDims] of cases) {
    const x = randn(rng, shape.reduce((p, q) => p * q, 1)).map((v) => v + 0.5); // no cancellation to 0
    const [cpu, wasm] = await onBoth(() => {
      const t = tf.tensor(x, shape);
      const r = [tf.sum(t, axis ?? undefined, keepDims), tf.mean(t, axis ?? undefined, keepDims)];
      assert(
        r[0].shape.join() === tf.sum(tf.zeros(shape), axis ?? undefined, keepDims).shape.join(),
        "shape",
      );
      return r;
    });
    assertClose(wasm[0], cpu[0], TOL, `sum ${shape} axis ${axis} keepDims ${keepDims}`);
    assertClose(wasm[1], cpu[1], TOL, `mean ${shape} axis ${axis} keepDims ${keepDims}`);
  }
  await initBackend("wasm");
  // An image's pixel sums do not depend on the batch it is in.
  const batch = tf.tensor(randn(rng, 14 * 28 * 28 * 32), [14, 28, 28, 32]);
  const [all, alone] = tf.tidy(() => [
    tf.slice(tf.sum(batch, [1, 2]), [5, 0], [3, -1]),
    tf.sum(tf.slice(batch, [5, 0, 0, 0], [3, -1, -1, -1]), [1, 2]),
  ]);
  const [a, b] = [await all.data() as Float32Array, await alone.data() as Float32Array];
  assert(a.every((v, i) => v === b[i]), "pixel sums of images 5… differ alone and in a batch of 14");
  tf.dispose([batch, all, alone]);
  const ints = tf.tensor([[1, 2], [3, 4]], [2, 2], "int32");
  const total = tf.sum(ints, 0);
  assert(total.dtype === "int32" && (await total.data()).join() === "4,6", "int32 sum (the original kernel)");
  tf.dispose([ints, total]);
});

Deno.test("wasm Concat and SplitV (runs of copies) give cpu's values exactly, on every axis", async () => {
  const rng = Rng.fromSeed(7, "copies");
  const cases: [number[][], number][] = [
    [[[2, 28, 28, 32], [2, 28, 28, 32]], 3], // the U-Net's skip concatenation (short runs)
    [[[2, 14, 14, 64], [2, 14, 14, 64]], 3], // level 1: runs of 64 (copyWithin)
    [[[2, 5, 3, 4], [2, 5, 3, 1], [2, 5, 3, 7]], -1], // three inputs, uneven
    [[[2, 5, 3, 4], [2, 2, 3, 4]], 1], // a middle axis
    [[[3, 4], [1, 4]], 0], // the first axis: one run each
    [[[2, 0, 3], [2, 4, 3]], 1], // an empty input (the original kernel)
  ];
  for (const [shapes, axis] of cases) {
    const xs = shapes.map((s) => randn(rng, s.reduce((p, q) => p * q, 1)));
    const [cpu, wasm] = await onBoth(() => {
      const ts = xs.map((x, i) => tf.tensor(x, shapes[i]));
      const joined = tf.concat(ts, axis);
      const a = axis < 0 ? axis + shapes[0].length : axis;
      const parts = tf.split(joined, shapes.map((s) => s[a]), axis);
      const grads = gradientsOf((...inputs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(inputs, axis), joined)))(
        ts,
      );
      return [joined, ...parts, ...grads];
    });
    for (let i = 0; i < cpu.length; i++) {
      assert(
        wasm[i].join() === cpu[i].join(),
        `concat/split ${JSON.stringify(shapes)} axis ${axis}: output ${i}`,
      );
    }
  }
  await initBackend("wasm");
  const ints = tf.concat([tf.tensor([1, 2], [1, 2], "int32"), tf.tensor([3, 4], [1, 2], "int32")], 1);
  assert(
    ints.dtype === "int32" && (await ints.data()).join() === "1,2,3,4",
    "int32 concat (the original kernel)",
  );
  const [p, q] = tf.split(ints, [1, 3], 1);
  assert(
    (await p.data()).join() === "1" && (await q.data()).join() === "2,3,4",
    "int32 split (the original)",
  );
  tf.dispose([ints, p, q]);
});

Deno.test("wasm Identity and same-dtype Cast share data that outlives the original", async () => {
  await initBackend("wasm");
  const x = tf.tensor([1.5, -2, 3], [3]);
  const [copy, same, ints] = [x.clone(), tf.cast(x, "float32"), tf.cast(x, "int32")];
  x.dispose();
  assert((await copy.data()).join() === "1.5,-2,3", "clone after the original is disposed");
  assert((await same.data()).join() === "1.5,-2,3" && same.dtype === "float32", "cast to float32");
  assert((await ints.data()).join() === "1,-2,3" && ints.dtype === "int32", "cast to int32 converts");
  const g = gradientsOf((a: tf.Tensor) => tf.sum(tf.mul(a, a)))([copy])[0];
  assert((await g.data()).join() === "3,-4,6", "gradient through saved (shared) tensors");
  tf.dispose([copy, same, ints, g]);
});

/** The U-Net's GroupNorm shapes (levels 0–2) and one with a channel per group. */
const GROUP_NORM_CASES: [number[], number][] = [
  [[2, 28, 28, 32], 8],
  [[2, 14, 14, 64], 8],
  [[3, 7, 7, 64], 8],
  [[2, 3, 5, 6], 6],
];

Deno.test("wasm fused GroupNorm and its gradients at the U-Net's shapes match cpu's composed one", async () => {
  const rng = Rng.fromSeed(7, "group-norm");
  for (const [shape, groups] of GROUP_NORM_CASES) {
    const n = shape.reduce((p, q) => p * q, 1), c = shape[3];
    const x = randn(rng, n).map((v, i) => 3 * v + (i % 7)), dy = randn(rng, n);
    const gamma = randn(rng, c), beta = randn(rng, c);
    const [cpu, wasm] = await onBoth(() => {
      const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(groupNorm(xx as tf.Tensor4D, groups, gg, bb), tf.tensor(dy, [...shape])));
      const inputs = [tf.tensor(x, [...shape]), tf.tensor(gamma), tf.tensor(beta)];
      return [groupNorm(inputs[0] as tf.Tensor4D, groups, inputs[1], inputs[2]), ...gradientsOf(f)(inputs)];
    });
    for (const [i, what] of ["y", "dx", "dgamma", "dbeta"].entries()) {
      assertClose(wasm[i], cpu[i], TOL, `groupNorm ${what} ${shape} G=${groups}`);
    }
  }
});

Deno.test("wasm fused GroupNorm with modulation and SiLU and its gradients match cpu's composed one", async () => {
  const rng = Rng.fromSeed(8, "group-norm-silu");
  for (const [shape, groups] of GROUP_NORM_CASES) {
    const [b, , , c] = shape, n = shape.reduce((p, q) => p * q, 1);
    const x = randn(rng, n).map((v, i) => 3 * v + (i % 7)), dy = randn(rng, n);
    const [gamma, beta, scale, shift] = [c, c, b * c, b * c].map((k) => randn(rng, k));
    for (const modulated of [true, false]) {
      const [cpu, wasm] = await onBoth(() => {
        const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, ss: tf.Tensor, tt: tf.Tensor) => {
          const mod = modulated ? { scale: ss, shift: tt } : undefined;
          return groupNormSilu(xx as tf.Tensor4D, groups, gg, bb, mod);
        };
        const inputs = [
          tf.tensor(x, [...shape]),
          tf.tensor(gamma),
          tf.tensor(beta),
          tf.tensor(scale, [b, 1, 1, c]),
          tf.tensor(shift, [b, 1, 1, c]),
        ];
        const used = inputs.slice(0, modulated ? 5 : 3);
        const loss = (...t: tf.Tensor[]) => {
          const [xx, gg, bb, ss, tt] = [...t, ...inputs.slice(t.length)];
          return tf.sum(tf.mul(f(xx, gg, bb, ss, tt), tf.tensor(dy, [...shape])));
        };
        return [f(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]), ...gradientsOf(loss)(used)];
      });
      for (const [i, what] of ["y", "dx", "dgamma", "dbeta", "dscale", "dshift"].entries()) {
        if (i < cpu.length) {
          assertClose(wasm[i], cpu[i], TOL, `groupNormSilu ${what} ${shape} G=${groups} ${modulated}`);
        }
      }
    }
  }
});

Deno.test("wasm fused GroupNorm + SiLU where σ saturates (|z| up to 300) matches cpu's composed one", async () => {
  // The SIMD path's σ takes e^−|z| as 0 beyond |z| = 87; shifts of ±(0 … 300) cross that on both sides.
  const rng = Rng.fromSeed(9, "group-norm-saturated");
  const shape = [2, 3, 5, 8], [b, , , c] = shape, n = shape.reduce((p, q) => p * q, 1);
  const x = randn(rng, n), dy = randn(rng, n), [gamma, beta, scale] = [c, c, b * c].map((k) => randn(rng, k));
  const shift = Array.from({ length: b * c }, (_, i) => (i % 2 ? 1 : -1) * 20 * i);
  const [cpu, wasm] = await onBoth(() => {
    const inputs = [
      tf.tensor(x, shape),
      tf.tensor(gamma),
      tf.tensor(beta),
      tf.tensor(scale, [b, 1, 1, c]),
      tf.tensor(shift, [b, 1, 1, c]),
    ];
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, ss: tf.Tensor, tt: tf.Tensor) =>
      groupNormSilu(xx as tf.Tensor4D, 2, gg, bb, { scale: ss, shift: tt });
    const loss = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor, ss: tf.Tensor, tt: tf.Tensor) =>
      tf.sum(tf.mul(f(xx, gg, bb, ss, tt), tf.tensor(dy, shape)));
    return [f(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]), ...gradientsOf(loss)(inputs)];
  });
  for (const [i, what] of ["y", "dx", "dgamma", "dbeta", "dscale", "dshift"].entries()) {
    assertClose(wasm[i], cpu[i], TOL, `saturated groupNormSilu ${what}`);
  }
});

Deno.test("wasm fused gated residual x + g · h and its gradients match cpu's composed one", async () => {
  // C = 32, 64: the SIMD kernels; C = 6: composed on wasm too.
  const rng = Rng.fromSeed(12, "gated-residual");
  for (const shape of [[3, 28, 28, 32], [2, 7, 7, 64], [2, 3, 5, 6]]) {
    const [b, , , c] = shape, n = shape.reduce((p, q) => p * q, 1);
    const [x, h, dy, gate] = [n, n, n, b * c].map((k) => randn(rng, k));
    const [cpu, wasm] = await onBoth(() => {
      const inputs = [tf.tensor(x, shape), tf.tensor(gate, [b, 1, 1, c]), tf.tensor(h, shape)];
      const f = (xx: tf.Tensor, gg: tf.Tensor, hh: tf.Tensor) =>
        gatedResidual(xx as tf.Tensor4D, gg, hh as tf.Tensor4D);
      const loss = (xx: tf.Tensor, gg: tf.Tensor, hh: tf.Tensor) =>
        tf.sum(tf.mul(f(xx, gg, hh), tf.tensor(dy, shape)));
      return [f(inputs[0], inputs[1], inputs[2]), ...gradientsOf(loss)(inputs)];
    });
    for (const [i, what] of ["y", "dx", "dgate", "dh"].entries()) {
      assertClose(wasm[i], cpu[i], TOL, `gatedResidual ${what} ${shape}`);
    }
  }
});

Deno.test("patched wasm kernels do not leak tensors", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5]) as tf.Tensor4D;
  const a = tf.randomNormal([16, 8]), a3 = tf.randomNormal([3]);
  const x4 = tf.randomNormal([2, 4, 4, 4]) as tf.Tensor4D, g4 = tf.randomNormal([2, 1, 1, 4]);
  const step = () =>
    tf.tidy(() => {
      const [gx, gw] = gradientsOf((xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, "same"))
      )([x, w]);
      const m = tf.matMul(a, a, true, false);
      const [gn] = gradientsOf((xx: tf.Tensor) => tf.sum(groupNorm(xx as tf.Tensor4D, 3, a3, a3)))([gx]);
      const mod = { scale: tf.ones([2, 1, 1, 3]), shift: tf.zeros([2, 1, 1, 3]) };
      const [gs] = gradientsOf((xx: tf.Tensor) => tf.sum(groupNormSilu(xx as tf.Tensor4D, 3, a3, a3, mod)))([
        gx,
      ]);
      const [gr] = gradientsOf((xx: tf.Tensor) => tf.sum(gatedResidual(xx as tf.Tensor4D, g4, x4)))([x4]);
      return tf.add(
        tf.add(tf.add(tf.sum(gx), tf.sum(gw)), tf.add(tf.sum(m), tf.add(tf.sum(gn), tf.sum(gs)))),
        tf.sum(gr),
      );
    });
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) step().dispose();
  assert(tf.memory().numTensors === before, `tensors ${before} -> ${tf.memory().numTensors}`);
  tf.dispose([x, w, a, a3, x4, g4]);
});
