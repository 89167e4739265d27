/**
 * The patched wasm kernels (lib/tensor/wasm_kernels.ts) agree with the pure-JS cpu backend to 1e-4 relative.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { grads as gradientsOf } from "../lib/tensor/gradients.ts";

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

Deno.test("wasm Conv2DBackpropFilter / Conv2DBackpropInput match cpu", async () => {
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
      const f = (xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, s, pad), tf.tensor(g, outShape)));
      const grads = gradientsOf(f)([tf.tensor(x, [B, H, W, Ci]), tf.tensor(w, [k, k, Ci, Co])]);
      return grads;
    });
    assertClose(wasm[0], cpu[0], TOL, `dx k=${k} s=${s} ${pad}`);
    assertClose(wasm[1], cpu[1], TOL, `dw k=${k} s=${s} ${pad}`);
  }
});

Deno.test("patched wasm kernels do not leak tensors", async () => {
  await initBackend("wasm");
  const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 5]) as tf.Tensor4D;
  const a = tf.randomNormal([16, 8]);
  const step = () =>
    tf.tidy(() => {
      const [gx, gw] = gradientsOf((xx: tf.Tensor, ww: tf.Tensor) =>
        tf.sum(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, "same"))
      )([x, w]);
      const m = tf.matMul(a, a, true, false);
      return tf.add(tf.add(tf.sum(gx), tf.sum(gw)), tf.sum(m));
    });
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) step().dispose();
  assert(tf.memory().numTensors === before, `tensors ${before} -> ${tf.memory().numTensors}`);
  tf.dispose([x, w, a]);
});
