/**
 * U-Net: shapes (even and odd sizes, conditional channels), agreement of forward and gradients between cpu and
 * the patched wasm kernels (1e-4), the upsampling's values and gradient against host loops, no tensor leaks, and
 * one EDM training step runs.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { UNet } from "../lib/nn/mod.ts";
import { upsampleTo } from "../lib/nn/_unet.ts";
import { dsmLoss, edmDenoiser } from "../lib/diffusion/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { variableGrads } from "../lib/tensor/gradients.ts";
import { SMALL_UNET } from "./small_nets.ts";

function randn(seed: number, n: number): Float32Array {
  const a = new Float32Array(n);
  Rng.fromSeed(seed, "unet-test").fillNormal(a);
  return a;
}

const SMALL = SMALL_UNET;

Deno.test("UNet output shapes, odd sizes, condition channels", async () => {
  await initBackend("wasm");
  for (const [h, w] of [[8, 8], [7, 9]]) {
    const net = new UNet({ ...SMALL, height: h, width: w, channels: 2 }, 0);
    const y = net.apply(tf.zeros([3, h, w, 2]), tf.zeros([3, 16]) as tf.Tensor2D);
    assert(y.shape.join() === `3,${h},${w},2`, `shape ${y.shape}`);
    y.dispose();
    net.dispose();
  }
  const c = new UNet({ ...SMALL, conditionChannels: 2 }, 0);
  assert(c.conditionFeatures === 8 * 8 * 2, "condition width");
  const yc = c.apply(tf.zeros([2, 8, 8, 1]), tf.zeros([2, 16]) as tf.Tensor2D, tf.zeros([2, 128]));
  assert(yc.shape.join() === "2,8,8,1");
  yc.dispose();
  c.dispose();
});

Deno.test("nearest ×2 upsampling: values and gradient (2 × 2 block sums of dy) against host loops", async () => {
  const [b, h, w, c] = [2, 3, 4, 3];
  const x = randn(4, b * h * w * c);
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    for (const [height, width] of [[6, 8], [5, 7]]) {
      const g = randn(5, b * height * width * c);
      const xt = tf.tensor(x, [b, h, w, c]) as tf.Tensor4D, gt = tf.tensor(g, [b, height, width, c]);
      const up = upsampleTo(xt, height, width);
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsampleTo(v as tf.Tensor4D, height, width), gt)))(
        xt,
      );
      const [u, d] = [(await up.data()) as Float32Array, (await dx.data()) as Float32Array];
      const at = (i: number, y: number, z: number, k: number, ww: number, hh: number) =>
        ((i * hh + y) * ww + z) * c + k;
      const want = new Float32Array(b * h * w * c);
      for (let i = 0; i < b; i++) {
        for (let y = 0; y < height; y++) {
          for (let z = 0; z < width; z++) {
            for (let k = 0; k < c; k++) {
              const src = at(i, y >> 1, z >> 1, k, w, h), dst = at(i, y, z, k, width, height);
              assert(u[dst] === x[src], `${backend} ${height}×${width}: value at ${i},${y},${z},${k}`);
              want[src] += g[dst];
            }
          }
        }
      }
      assertClose(d, want, 1e-6, `${backend} ${height}×${width}: gradient`);
      tf.dispose([xt, gt, up, dx]);
    }
  }
});

/** Output and all parameter gradients of the EDM-wrapped U-Net with its modulation made non-zero. */
async function outputsAndGrads(): Promise<Float32Array[]> {
  const net = new UNet(SMALL, 1);
  // Modulation starts at zero (identity blocks); perturb it so that the test exercises every path.
  for (const [name, v] of Object.entries(net.params())) {
    if (name.includes("modulation")) {
      tf.tidy(() => v.assign(tf.mul(tf.tensor(randn(name.length, v.size), v.shape), 0.1)));
    }
  }
  const B = 4;
  const x = tf.tensor(randn(1, B * 64), [B, 8, 8, 1]), z = tf.tensor(randn(2, B * 64), [B, 8, 8, 1]);
  const sigma = tf.tensor1d([0.01, 0.3, 2, 40]);
  const d = edmDenoiser(net);
  const y = d(x, sigma as tf.Tensor1D);
  const vars = Object.values(net.params());
  const { value, grads } = variableGrads(() => dsmLoss(d, x, sigma as tf.Tensor1D, z), vars);
  const out = [(await y.data()) as Float32Array, (await value.data()) as Float32Array];
  for (const v of vars) out.push((await grads[v.name].data()) as Float32Array);
  tf.dispose([x, z, sigma, y, value, ...Object.values(grads)]);
  net.dispose();
  return out;
}

Deno.test("UNet forward and gradients agree between cpu and wasm (1e-4)", async () => {
  await initBackend("cpu");
  const ref = await outputsAndGrads();
  await initBackend("wasm");
  const got = await outputsAndGrads();
  got.forEach((g, i) =>
    assertClose(g, ref[i], 1e-4, i === 0 ? "forward" : i === 1 ? "loss" : `grad ${i - 2}`)
  );
});

Deno.test("UNet training steps do not leak tensors", async () => {
  await initBackend("wasm");
  const net = new UNet(SMALL, 2);
  const d = edmDenoiser(net);
  const vars = Object.values(net.params());
  const x = tf.tensor(randn(3, 2 * 64), [2, 8, 8, 1]);
  const sigma = tf.tensor1d([0.5, 3]) as tf.Tensor1D;
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = variableGrads(() => dsmLoss(d, x, sigma, x), vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 1e-3)));
      return value;
    });
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step().dispose();
  assert(tf.memory().numTensors === before, `leaked ${tf.memory().numTensors - before}`);
  tf.dispose([x, sigma]);
  net.dispose();
});
