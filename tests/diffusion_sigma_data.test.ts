/**
 * σ_data is one parameter of the EDM denoiser and of the DSM loss weight, and they agree: with a network
 * that outputs 0, the preconditioned denoiser is exactly E[x | x_σ] for x ~ N(0, σ_data² I), and with the
 * exact denoiser the weighted loss is 1 per dimension at every σ (EDM's unit loss) — only when the loss
 * weights by the same σ_data.
 */
import { dsmLoss, edmDenoiser } from "../lib/diffusion/mod.ts";
import type { NoiseConditionedNet } from "../lib/nn/mod.ts";
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { assert } from "./tensor_assert.ts";

/** F ≡ 0: the EDM denoiser reduces to its skip connection c_skip(σ) x. */
const zeroNet: NoiseConditionedNet = {
  embeddingFeatures: 4,
  eventShape: [3],
  conditionFeatures: 0,
  config: { kind: "zero" },
  apply: (x) => tf.zerosLike(x),
  params: () => ({}),
  dispose: () => {},
};

Deno.test("edmDenoiser with σ_data is the exact denoiser of N(0, σ_data² I) when F = 0", async () => {
  await initBackend("cpu");
  for (const sd of [0.5, 1, 2]) {
    const d = edmDenoiser(zeroNet, { sigmaData: sd });
    const x = tf.tensor2d([[1, -2, 3], [0.5, 0.25, -1]]);
    const sigma = tf.tensor1d([0.3, 4]);
    const got = await d(x, sigma).data();
    const want = [
      [1, -2, 3].map((v) => v * sd * sd / (0.09 + sd * sd)),
      [0.5, 0.25, -1].map((v) => v * sd * sd / (16 + sd * sd)),
    ]
      .flat();
    for (let i = 0; i < 6; i++) {
      assert(Math.abs(got[i] - want[i]) < 1e-6, `σ_data ${sd}, ${i}: ${got[i]} vs ${want[i]}`);
    }
    tf.dispose([x, sigma]);
  }
});

Deno.test("the DSM loss weighted by the denoiser's σ_data is 1 per dimension for the exact denoiser", async () => {
  await initBackend("cpu");
  const sd = 0.5, rows = 20000;
  const x = new Float32Array(rows * 3), z = new Float32Array(rows * 3);
  Rng.fromSeed(4, "x").fillNormal(x);
  Rng.fromSeed(4, "z").fillNormal(z);
  const xt = tf.mul(tf.tensor2d(x, [rows, 3]), sd), zt = tf.tensor2d(z, [rows, 3]);
  const exact = edmDenoiser(zeroNet, { sigmaData: sd });
  for (const s of [0.05, 0.5, 5]) {
    const sigma = tf.fill([rows], s) as tf.Tensor1D;
    const matched = (await dsmLoss(exact, xt, sigma, zt, sd).data())[0];
    const mismatched = (await dsmLoss(exact, xt, sigma, zt, 1).data())[0];
    assert(Math.abs(matched - 1) < 0.03, `σ ${s}: loss ${matched} with the same σ_data, expected 1`);
    // The unit-σ_data weight misjudges the same denoiser wherever σ is not small against σ_data.
    if (s >= 0.5) assert(Math.abs(mismatched - 1) > 0.1, `σ ${s}: a mismatched weight gave ${mismatched}`);
    sigma.dispose();
  }
  tf.dispose([xt, zt]);
});
