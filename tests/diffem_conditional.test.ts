/**
 * DiffEM's conditional model against the exact answer: a conditional denoiser d_θ(x_t, σ, c) trained by
 * DSM on pairs (x, c = encode(y, A)) from a known Gaussian joint must, sampled by the plain sampler with a
 * fixed condition, reproduce the analytic conditional mean and covariance of x | y, A.
 *
 * Setup (the M-step's own path): x ~ N(μ, Σ) in R^2, 16384 rows re-corrupted by `recorrupt` with a fresh
 * random unit projection A ∈ R^{1×2} per row and σ_y = 0.2, so c = (y, a₁, a₂); an MLP (3 × 128 hidden,
 * E = 32) trained 3000 steps at batch 256; then the E-step's path (`samplePosteriorShard` with a
 * `conditional` prior): 4096 DDPM samples (64 steps) of q(x | y, A) for each of three fixed (y, A).
 * Tolerances, per (y, A): mean error (Euclidean) ≤ 0.08 and relative Frobenius error of the covariance
 * ≤ 0.25, against the analytic posterior (standard deviations 0.17–0.9). The Monte-Carlo error is ≈ 0.015
 * on the mean and ≈ 0.03 on the covariance; the rest is the learned model's error (measured ≈ 0.01–0.04
 * and ≈ 0.03–0.12). A model that ignores the condition (the prior) misses by 0.5–1.5 on the mean.
 */
import { initBackend } from "../lib/tensor/backend.ts";
import { Rng } from "../lib/random.ts";
import { cholesky, matrix } from "../lib/linalg/dense.ts";
import { projectionOperator } from "../lib/operators/mod.ts";
import { MLP } from "../lib/nn/mlp.ts";
import { exportParams } from "../lib/nn/module.ts";
import { trainDenoiser } from "../lib/diffusion/train.ts";
import { veSchedule } from "../lib/diffusion/schedule.ts";
import { conditionEncoding, recorrupt } from "../lib/posterior/condition.ts";
import { gaussianPosterior } from "../lib/posterior/gaussian.ts";
import { samplePosteriorShard } from "../lib/posterior/sample_shard.ts";
import { sampleMoments } from "../lib/metrics/moments.ts";
import { assert } from "./assert.ts";

Deno.test("a conditional model trained on Gaussian pairs reproduces the analytic conditional x | y, A", async () => {
  await initBackend("wasm");
  const d = 2, sigmaY = 0.2, pairs = 16384, draws = 4096;
  const mu = Float64Array.of(0.5, -0.3);
  const cov = matrix(2, 2, [1, 0.6, 0.6, 0.8]);
  const family = projectionOperator({ xShape: [d], m: 1 });
  const encoding = conditionEncoding(family);
  assert(encoding.features === 3, `condition features ${encoding.features}`);

  // Pairs from the joint: x ~ N(μ, Σ), then the M-step's re-corruption (fresh A and noise per row).
  const l = cholesky(cov).factor.data;
  const rng = Rng.fromSeed(21, "prior");
  const x = new Float32Array(pairs * d);
  for (let i = 0; i < pairs; i++) {
    const z0 = rng.normal(), z1 = rng.normal();
    x[i * d] = mu[0] + l[0] * z0;
    x[i * d + 1] = mu[1] + l[2] * z0 + l[3] * z1;
  }
  const set = recorrupt(family, { shape: [pairs, d], data: x }, sigmaY, 22);
  const net = new MLP({ features: d, hidden: [128, 128, 128], embeddingFeatures: 32, conditionFeatures: 3 }, 3);
  const { losses } = await trainDenoiser({
    net,
    data: set.x.data,
    conditions: set.conditions.data,
    schedule: veSchedule(),
    steps: 3000,
    batchSize: 256,
    lr: 1e-3,
    seed: 4,
    logEvery: 500,
  });
  const weights = await exportParams(net);
  const config = net.config;
  net.dispose();

  // Three fixed observations: (y, direction of A).
  const cases: [number, number][] = [[-1.2, 0.3], [0.4, 1.9], [1.5, -0.8]];
  const report: string[] = [`losses ${losses.map(([, v]) => v.toFixed(3)).join(" ")}`];
  for (const [yv, angle] of cases) {
    const a = Float32Array.of(Math.cos(angle), Math.sin(angle));
    const y = { shape: [draws, 1], data: new Float32Array(draws).fill(yv) };
    const matrices = { shape: [draws, 1, d], data: new Float32Array(draws * d) };
    for (let i = 0; i < draws; i++) matrices.data.set(a, i * d);
    const { x: samples, cg } = await samplePosteriorShard({
      prior: { kind: "conditional", config, weights, condition: encoding },
      sigmaMin: 1e-3,
      sigmaMax: 10,
      observations: { kind: "projection", config: { xShape: [d], m: 1 }, params: { matrices }, y, sigmaY },
      xShape: [d],
      seed: 7,
      firstRow: 0,
      sampler: "ddpm",
      steps: 64,
      covariance: "mmps",
      batchSize: draws,
    });
    assert(cg === null, "a conditional model samples without CG");
    const exact = gaussianPosterior({ mean: mu, cov }, {
      family,
      params: { matrices: { shape: [1, 1, d], data: a } },
      y: { shape: [1, 1], data: Float32Array.of(yv) },
      sigmaY,
    });
    const m = sampleMoments(samples);
    const meanErr = Math.hypot(m.mean[0] - exact.mean[0], m.mean[1] - exact.mean[1]);
    let num = 0, den = 0;
    for (let j = 0; j < 4; j++) {
      num += (m.cov.data[j] - exact.cov![j]) ** 2;
      den += exact.cov![j] ** 2;
    }
    const covErr = Math.sqrt(num / den);
    report.push(
      `y=${yv} θ=${angle}: mean [${[...m.mean].map((v) => v.toFixed(3))}] vs [${
        [...exact.mean].map((v) => v.toFixed(3))
      }] (err ${meanErr.toFixed(3)}); cov [${[...m.cov.data].map((v) => v.toFixed(3))}] vs [${
        [...exact.cov!].map((v) => v.toFixed(3))
      }] (rel err ${covErr.toFixed(3)})`,
    );
    assert(meanErr <= 0.08, `${report.join("\n")}\nmean error ${meanErr.toFixed(3)} > 0.08`);
    assert(covErr <= 0.25, `${report.join("\n")}\ncovariance relative error ${covErr.toFixed(3)} > 0.25`);
  }
  console.log(report.join("\n"));
});
