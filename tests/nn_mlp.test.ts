/**
 * MLP, embedding, layers: shapes, seeded initialisation, parameter names, agreement across backends
 * (cpu, wasm, and WebGPU on whatever adapter Deno offers — llvmpipe on CI).
 */
import { initBackend, probeGpuAdapter, tf } from "../lib/tensor/mod.ts";
import { exportParams, importParams, MLP, sinusoidalEmbedding } from "../lib/nn/mod.ts";
import { dsmLoss, edmDenoiser } from "../lib/diffusion/mod.ts";
import { Adam, constantLR } from "../lib/training/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { grad, variableGrads } from "../lib/tensor/gradients.ts";

function randn(seed: number, n: number): Float32Array {
  const a = new Float32Array(n);
  Rng.fromSeed(seed, "nn-test").fillNormal(a);
  return a;
}

Deno.test("sinusoidal embedding: frequencies (1e-4)^linspace(0,1,E/2), [sin, cos]", async () => {
  await initBackend("wasm");
  const f = [1, Math.pow(1e-4, 1 / 3), Math.pow(1e-4, 2 / 3), 1e-4];
  const e = sinusoidalEmbedding(tf.tensor1d([0.5, -2]), 8);
  const v = await e.data();
  e.dispose();
  const expect: number[] = [];
  for (const x of [0.5, -2]) {
    expect.push(
      ...[...f].map((w) => Math.sin(x * w)),
      ...[...f].map((w) => Math.cos(x * w)),
    );
  }
  assertClose(v, expect, 1e-6, "embedding");
});

Deno.test("MLP: shapes, stable names, seeded init, condition input", async () => {
  await initBackend("wasm");
  const a = new MLP({ features: 5, hidden: [32, 32] }, 7);
  const b = new MLP({ features: 5, hidden: [32, 32] }, 7);
  const names = Object.keys(a.params());
  assert(
    names.join() ===
      "linear.0.weight,linear.0.bias,norm.0.gamma,norm.0.beta,linear.1.weight,linear.1.bias,norm.1.gamma,norm.1.beta,linear.2.weight,linear.2.bias",
    `names ${names}`,
  );
  const pa = await exportParams(a), pb = await exportParams(b);
  for (const n of names) assertClose(pa[n].data, pb[n].data, 0, n);
  const y = a.apply(tf.zeros([3, 5]), tf.zeros([3, 64]) as tf.Tensor2D);
  assert(y.shape.join() === "3,5", `shape ${y.shape}`);
  y.dispose();
  const c = new MLP({ features: 5, hidden: [16], conditionFeatures: 7 }, 1);
  const yc = c.apply(tf.zeros([2, 5]), tf.zeros([2, 64]) as tf.Tensor2D, tf.ones([2, 7]));
  assert(yc.shape.join() === "2,5");
  yc.dispose();
  let threw = false;
  try {
    c.apply(tf.zeros([2, 5]), tf.zeros([2, 64]) as tf.Tensor2D);
  } catch {
    threw = true;
  }
  assert(threw, "a conditional MLP without condition must throw");
  importParams(b, pa);
  [a, b, c].forEach((m) => m.dispose());
});

/** Loss, gradients and one Adam step of the EDM-wrapped MLP on the active backend. */
async function forwardAndStep(): Promise<
  { out: Float32Array; loss: number; grads: Float32Array[]; after: Float32Array[] }
> {
  const net = new MLP({ features: 5, hidden: [64, 64] }, 3);
  const B = 64;
  const x = tf.tensor(randn(1, B * 5), [B, 5]), z = tf.tensor(randn(2, B * 5), [B, 5]);
  const sigma = tf.tensor1d(Array.from({ length: B }, (_, i) => Math.exp(-6 + 8 * i / B)));
  const d = edmDenoiser(net);
  const y = d(x, sigma as tf.Tensor1D);
  const out = (await y.data()) as Float32Array;
  const vars = Object.values(net.params());
  const { value, grads } = variableGrads(() => dsmLoss(d, x, sigma as tf.Tensor1D, z), vars);
  const loss = (await value.data())[0];
  const g = await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array));
  const opt = new Adam(net.params(), { lr: constantLR(1e-3) });
  tf.tidy(() => opt.apply(grads));
  const after = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  tf.dispose([x, z, sigma, y, value, ...Object.values(grads)]);
  opt.dispose();
  net.dispose();
  return { out, loss, grads: g, after };
}

Deno.test("MLP forward, gradients and Adam step agree between cpu and wasm (1e-4)", async () => {
  await initBackend("cpu");
  const ref = await forwardAndStep();
  await initBackend("wasm");
  const got = await forwardAndStep();
  assertClose(got.out, ref.out, 1e-4, "forward");
  assertClose([got.loss], [ref.loss], 1e-4, "loss");
  got.grads.forEach((g, i) => assertClose(g, ref.grads[i], 1e-4, `grad ${i}`));
  got.after.forEach((p, i) => assertClose(p, ref.after[i], 1e-4, `param ${i} after step`));
});

Deno.test("WebGPU runs the MLP forward and a training step and agrees with wasm", async () => {
  const adapter = await probeGpuAdapter();
  if (!adapter) {
    console.warn("SKIPPED: no WebGPU adapter (navigator.gpu missing)");
    return;
  }
  await initBackend("wasm");
  const ref = await forwardAndStep();
  const info = await initBackend("webgpu");
  try {
    console.log(`webgpu adapter: ${info.adapter}`);
    const got = await forwardAndStep();
    assertClose(got.out, ref.out, 1e-4, "webgpu forward");
    assertClose([got.loss], [ref.loss], 1e-4, "webgpu loss");
    got.grads.forEach((g, i) => assertClose(g, ref.grads[i], 1e-4, `webgpu grad ${i}`));
    // Adam's first step is ≈ lr·sign(g): entries whose gradient is at rounding level may flip, so compare the
    // updated weights to the step size rather than to 1e-4.
    got.after.forEach((p, i) => {
      for (let j = 0; j < p.length; j++) {
        assert(Math.abs(p[j] - ref.after[i][j]) <= 2.1e-3, `webgpu param ${i}[${j}]`);
      }
    });
  } finally {
    await initBackend("wasm");
  }
});

/** Vector–Jacobian product u ↦ Jᵀu of the EDM denoiser w.r.t. its input (what MMPS computes). */
async function denoiserVjp(): Promise<Float32Array> {
  const net = new MLP({ features: 5, hidden: [64, 64] }, 5);
  const d = edmDenoiser(net);
  const B = 16;
  const x = tf.tensor(randn(7, B * 5), [B, 5]), u = tf.tensor(randn(8, B * 5), [B, 5]);
  const sigma = tf.tensor1d(Array.from({ length: B }, (_, i) => Math.exp(-5 + 7 * i / B))) as tf.Tensor1D;
  const g = grad((xx: tf.Tensor) => tf.sum(tf.mul(d(xx, sigma), u)))(x);
  const out = (await g.data()) as Float32Array;
  tf.dispose([x, u, sigma, g]);
  net.dispose();
  return out;
}

Deno.test("denoiser input VJP (MMPS) agrees between cpu and wasm (1e-4)", async () => {
  await initBackend("cpu");
  const ref = await denoiserVjp();
  await initBackend("wasm");
  assertClose(await denoiserVjp(), ref, 1e-4, "VJP");
});
