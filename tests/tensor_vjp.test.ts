/**
 * recordVjp (lib/tensor/vjp.ts) against tf.grad: for EDM denoisers on an MLP and a U-Net, one recorded
 * forward pass must give the same f(x) and, for several cotangents in a row, the same Jᵀu as
 * grad(x ↦ Σ f(x)·u) (which re-runs the forward pass each time), and leave no tensor behind.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { grad } from "../lib/tensor/gradients.ts";
import { recordVjp } from "../lib/tensor/vjp.ts";
import { MLP, type NoiseConditionedNet, UNet } from "../lib/nn/mod.ts";
import { edmDenoiser } from "../lib/diffusion/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { SMALL_UNET } from "./small_nets.ts";

function randn(seed: number, shape: number[]): tf.Tensor {
  const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
  Rng.fromSeed(seed, "vjp-test").fillNormal(a);
  return tf.tensor(a, shape);
}

/** Compare recordVjp with tf.grad for `net`'s EDM denoiser at a random x_t, for three cotangents. */
function compareWithGrad(net: NoiseConditionedNet, shape: number[]) {
  const d = edmDenoiser(net);
  const xt = randn(1, shape);
  const sigma = tf.tensor1d(Array.from({ length: shape[0] }, (_, i) => 0.05 * 3 ** i));
  const f = (x: tf.Tensor) => d(x, sigma);
  const before = tf.memory().numTensors;
  const rec = recordVjp(f, xt);
  try {
    const reference = f(xt);
    assertClose(rec.y.dataSync(), reference.dataSync(), 1e-6, "f(x)");
    reference.dispose();
    for (let k = 0; k < 3; k++) {
      const u = randn(10 + k, shape);
      const fromTape = rec.vjp(u);
      const fromGrad = grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), u)))(xt);
      assert(fromTape.shape.join() === shape.join(), `vjp shape ${fromTape.shape}`);
      assertClose(fromTape.dataSync(), fromGrad.dataSync(), 1e-5, `Jᵀu #${k}`);
      tf.dispose([u, fromTape, fromGrad]);
    }
  } finally {
    rec.dispose();
    rec.y.dispose();
  }
  assert(tf.memory().numTensors === before, `leak: ${tf.memory().numTensors - before} tensors`);
  tf.dispose([xt, sigma]);
}

Deno.test("recordVjp equals tf.grad on an MLP denoiser, several cotangents, no leaks", async () => {
  await initBackend("wasm");
  const net = new MLP({ features: 5, hidden: [32, 32] }, 3);
  compareWithGrad(net, [6, 5]);
  net.dispose();
});

Deno.test("recordVjp equals tf.grad on a U-Net denoiser, several cotangents, no leaks", async () => {
  await initBackend("wasm");
  const net = new UNet(
    SMALL_UNET,
    2,
  );
  compareWithGrad(net, [3, 8, 8, 1]);
  net.dispose();
});

Deno.test("recordVjp: gradients through x only (weights untouched), clear errors", async () => {
  await initBackend("wasm");
  const w = tf.tensor2d([[1, 2], [3, 4]]);
  const x = tf.tensor2d([[1, -1]]);
  const before = tf.memory().numTensors;
  // f(x) = tanh(x W) + x: two paths from x to y, so the two gradients are summed.
  const rec = recordVjp((v) => tf.add(tf.tanh(tf.matMul(v, w)), v), x);
  const u = tf.tensor2d([[0.5, -2]]);
  const gx = rec.vjp(u);
  const g = gx.dataSync();
  const h = [Math.tanh(1 - 3), Math.tanh(2 - 4)];
  const s = h.map((t, j) => (1 - t * t) * [0.5, -2][j]);
  const expected = [s[0] * 1 + s[1] * 2 + 0.5, s[0] * 3 + s[1] * 4 - 2];
  assertClose(g, expected, 1e-6, "analytic Jᵀu");
  let message = "";
  const wrongShape = tf.zeros([2, 2]);
  try {
    rec.vjp(wrongShape);
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("shape [2,2]"), `shape error: ${message}`);
  rec.dispose();
  try {
    rec.vjp(u);
    message = "";
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("after dispose"), `use after dispose: ${message}`);
  tf.dispose([rec.y, u, gx, wrongShape]);
  assert(tf.memory().numTensors === before, `leak: ${tf.memory().numTensors - before} tensors`);
  let nested = "";
  try {
    grad((v: tf.Tensor) => tf.sum(recordVjp((t) => tf.square(t), v).y))(x);
  } catch (e) {
    nested = (e as Error).message;
  }
  assert(nested.includes("inside another gradient"), `nested: ${nested}`);
  tf.dispose([w, x]);
});
