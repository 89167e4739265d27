/**
 * The MLP's fused wasm kernels (lib/tensor/_linear.ts, lib/tensor/_layer_norm.ts, lib/tensor/_adam.ts)
 * against the cpu backend's composed TF.js ops: values and every gradient, at the shapes of the MLP and at
 * odd ones, and Adam steps with and without clipping.
 *
 * @module
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { grads as gradientsOf, variableGrads } from "../lib/tensor/gradients.ts";
import { recordVjp } from "../lib/tensor/vjp.ts";
import { linear, siluLayerNorm } from "../lib/nn/_layers.ts";
import { sinusoidalEmbedding } from "../lib/nn/mod.ts";
import { Adam, linearDecayLR } from "../lib/training/mod.ts";

const TOL = 1e-4;

function randn(rng: Rng, n: number, scale = 1, shift = 0): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a);
  return a.map((v) => scale * v + shift);
}

/** Run `f` on cpu and on wasm with the same host inputs; return both flattened outputs. */
async function onBoth(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const b of ["cpu", "wasm"] as const) {
    await initBackend(b);
    const r = f();
    out.push(await Promise.all(r.map(async (t) => (await t.data()) as Float32Array)));
    tf.dispose(r);
  }
  return [out[0], out[1]];
}

Deno.test("wasm fused linear and its gradients match cpu's tf.fused.matMul", async () => {
  const rng = Rng.fromSeed(11, "linear");
  for (
    const [rows, k, n, withBias] of [[1024, 69, 256, true], [300, 256, 5, true], [7, 3, 4, false]] as const
  ) {
    const x = randn(rng, rows * k), w = randn(rng, k * n), b = randn(rng, n), dy = randn(rng, rows * n);
    const [cpu, wasm] = await onBoth(() => {
      const inputs = [tf.tensor2d(x, [rows, k]), tf.tensor2d(w, [k, n]), tf.tensor1d(b)];
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb?: tf.Tensor) =>
        linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D | undefined);
      const loss = (...t: tf.Tensor[]) => tf.sum(tf.mul(f(t[0], t[1], t[2]), tf.tensor2d(dy, [rows, n])));
      const used = withBias ? inputs : inputs.slice(0, 2);
      return [f(inputs[0], inputs[1], withBias ? inputs[2] : undefined), ...gradientsOf(loss)(used)];
    });
    for (const [i, what] of ["y", "dx", "dw", "db"].entries()) {
      if (i < cpu.length) assertClose(wasm[i], cpu[i], TOL, `linear ${what} ${rows}×${k}×${n}`);
    }
  }
});

Deno.test("wasm fused LayerNorm∘SiLU and its gradients match cpu's composed one", async () => {
  const rng = Rng.fromSeed(12, "layer-norm-silu");
  for (const [rows, f] of [[1024, 256], [33, 64], [2, 3]] as const) {
    const z = randn(rng, rows * f, 3, 0.5), dy = randn(rng, rows * f);
    const gamma = randn(rng, f, 0.5, 1), beta = randn(rng, f);
    const [cpu, wasm] = await onBoth(() => {
      const inputs = [tf.tensor2d(z, [rows, f]), tf.tensor1d(gamma), tf.tensor1d(beta)];
      const g = (zz: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => siluLayerNorm(zz as tf.Tensor2D, gg, bb);
      const loss = (zz: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(g(zz, gg, bb), tf.tensor2d(dy, [rows, f])));
      return [g(inputs[0], inputs[1], inputs[2]), ...gradientsOf(loss)(inputs)];
    });
    for (const [i, what] of ["y", "dz", "dgamma", "dbeta"].entries()) {
      assertClose(wasm[i], cpu[i], TOL, `siluLayerNorm ${what} ${rows}×${f}`);
    }
  }
});

Deno.test("a recorded VJP through the fused MLP layers matches tf.grad and frees its tensors", async () => {
  await initBackend("wasm");
  const rng = Rng.fromSeed(13, "mlp-vjp");
  const [rows, k, n] = [64, 9, 32];
  const w = tf.tensor2d(randn(rng, k * n), [k, n]), b = tf.tensor1d(randn(rng, n));
  const gamma = tf.tensor1d(randn(rng, n, 0.5, 1)), beta = tf.tensor1d(randn(rng, n));
  const x = tf.tensor2d(randn(rng, rows * k), [rows, k]), dy = tf.tensor2d(randn(rng, rows * n), [rows, n]);
  const f = (xx: tf.Tensor) => siluLayerNorm(linear(xx as tf.Tensor2D, w, b), gamma, beta);
  const before = tf.memory().numTensors;
  const rec = recordVjp(f, x);
  const got = rec.vjp(dy);
  rec.dispose();
  const want = gradientsOf((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), dy)))([x])[0];
  assertClose(await got.data(), await want.data(), TOL, "vjp");
  tf.dispose([got, want, rec.y]);
  assert(tf.memory().numTensors === before, `tensors ${before} -> ${tf.memory().numTensors}`);
  tf.dispose([w, b, gamma, beta, x, dy]);
});

Deno.test("wasm fused Adam steps (clipped and not) match cpu's composed ones", async () => {
  const rng = Rng.fromSeed(14, "adam");
  const shapes = [[69, 32], [32], [32, 5], [5]];
  const init = shapes.map((s) => randn(rng, s.reduce((a, b) => a * b, 1)));
  // Three steps of gradients: large ones (the clipping acts), then small ones (it does not).
  const steps = [3, 0.01, 0.02].map((scale) =>
    shapes.map((s) => randn(rng, s.reduce((a, b) => a * b, 1), scale))
  );
  const run = (): tf.Tensor[] => {
    const params = Object.fromEntries(init.map((a, i) => [`p${i}`, tf.variable(tf.tensor(a, shapes[i]))]));
    const opt = new Adam(params, { lr: linearDecayLR(1e-2, 10) });
    const norms: number[] = [];
    for (const g of steps) {
      tf.tidy(() => opt.apply(Object.fromEntries(g.map((a, i) => [`p${i}`, tf.tensor(a, shapes[i])]))));
      norms.push(opt.lastGradNorm!.dataSync()[0]);
    }
    const out = [...Object.values(params).map((p) => p.clone()), tf.tensor(norms)];
    opt.dispose();
    tf.dispose(Object.values(params));
    return out;
  };
  const [cpu, wasm] = await onBoth(run);
  cpu.forEach((c, i) => assertClose(wasm[i], c, TOL, i < shapes.length ? `param ${i}` : "gradient norms"));
});

Deno.test("wasm sinusoidal embedding (shared and distinct rows) matches cpu's composed one", async () => {
  const values = Float32Array.from([0.5, 0.5, 0.5, -2, 3.25, 3.25, -6.9, 0, 0, 2.3]);
  const [cpu, wasm] = await onBoth(() => [sinusoidalEmbedding(tf.tensor1d(values), 64)]);
  assertClose(wasm[0], cpu[0], 1e-6, "embedding");
});

Deno.test("training through the fused MLP kernels and Adam does not leak tensors", async () => {
  await initBackend("wasm");
  const rng = Rng.fromSeed(15, "mlp-leak");
  const params = {
    w: tf.variable(tf.tensor2d(randn(rng, 9 * 16), [9, 16])),
    b: tf.variable(tf.zeros([16])),
    gamma: tf.variable(tf.ones([16])),
    beta: tf.variable(tf.zeros([16])),
  };
  const opt = new Adam(params, { lr: linearDecayLR(1e-2, 100) });
  const x = tf.tensor2d(randn(rng, 32 * 9), [32, 9]);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = variableGrads(
        () =>
          tf.sum(
            tf.square(
              siluLayerNorm(
                linear(x, params.w as tf.Tensor2D, params.b as tf.Tensor1D),
                params.gamma,
                params.beta,
              ),
            ),
          ),
        Object.values(params),
      );
      opt.apply(grads);
      return value;
    });
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step().dispose();
  assert(tf.memory().numTensors === before, `tensors ${before} -> ${tf.memory().numTensors}`);
  opt.dispose();
  tf.dispose([x, ...Object.values(params)]);
});
