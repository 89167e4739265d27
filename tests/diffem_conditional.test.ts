/**
 * DiffEM's conditional model against the exact answer: a conditional denoiser d_θ(x_t, σ, c) trained by
 * DSM on pairs (x, c = encode(y, A)) from a known Gaussian joint must, sampled by the plain sampler with a
 * fixed condition, reproduce the analytic conditional mean and covariance of x | y, A.
 *
 * Setup (the M-step's own path): x ~ N(μ, Σ) in R^2, 16384 rows re-corrupted by `recorrupt` with a fresh
 * random unit projection A ∈ R^{1×2} per row and σ_y = 0.2, so c = (y, a₁, a₂); an MLP (3 × 128 hidden,
 * E = 32) trained 3000 steps at batch 256. Then the E-step's path (`samplePosteriorShard` with a
 * `conditional` prior, no CG): 4096 DDPM samples (256 steps) of q(x | y, A) for each of three fixed (y, A).
 * Tolerances, per (y, A), against the analytic posterior: the mean error in posterior standard deviations,
 * ‖L⁻¹(m̂ − m)‖ with L Lᵀ the exact covariance, ≤ 0.2 (Monte-Carlo error ≈ 0.02; measured 0.05–0.09, the
 * learned model's error); the relative Frobenius error of the covariance ≤ 0.15 (Monte-Carlo ≈ 0.03;
 * measured 0.006–0.065). A model that ignored the condition would miss the mean by several standard
 * deviations. With 64 sampler steps the covariance shrinks by ≈ 10 % (the sampler's discretisation, as
 * for MMPS), hence 256 here.
 *
 * And the E-step's reproducibility: conditional samples are bit-identical whatever the batch size and the
 * shard count (Workers included), and depend on their row's condition.
 */
import { initBackend, splitRows } from "../lib/tensor/mod.ts";
import { runInWorkers } from "./tensor_assert.ts";
import { Rng } from "../lib/random.ts";
import { cholesky, matrix } from "../lib/linalg/mod.ts";
import { projectionOperator } from "../lib/operators/mod.ts";
import { exportParams, MLP } from "../lib/nn/mod.ts";
import { trainDenoiser } from "../lib/training/mod.ts";
import { veSchedule } from "../lib/diffusion/mod.ts";
import { conditionEncoding, recorrupt } from "../lib/diffem/mod.ts";
import { gaussianPosterior } from "../lib/gaussian/mod.ts";
import { type PosteriorShardInput, samplePosteriorShard, workerJobs } from "../lib/sampling/mod.ts";
import { sampleMoments } from "../lib/metrics/mod.ts";
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
  const net = new MLP(
    { features: d, hidden: [128, 128, 128], embeddingFeatures: 32, conditionFeatures: 3 },
    3,
  );
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
  const cases: [number, number][] = [[-1.2, 0.3], [0.4, 1.9], [0.9, -0.8]];
  const report: string[] = [`losses ${losses.map(([, v]) => v.toFixed(3)).join(" ")}`];
  for (const [yv, angle] of cases) {
    const a = Float32Array.of(Math.cos(angle), Math.sin(angle));
    const y = { shape: [draws, 1], data: new Float32Array(draws).fill(yv) };
    const matrices = { shape: [draws, 1, d], data: new Float32Array(draws * d) };
    for (let i = 0; i < draws; i++) matrices.data.set(a, i * d);
    const { x: samples, solver: cg } = await samplePosteriorShard({
      prior: { kind: "conditional", config, weights, sigmaData: 1, condition: encoding },
      sigmaMin: 1e-3,
      sigmaMax: 10,
      observations: { kind: "projection", config: { xShape: [d], m: 1 }, params: { matrices }, y, sigmaY },
      xShape: [d],
      seed: 7,
      firstRow: 0,
      sampler: "ddpm",
      steps: 256,
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
    // The mean error in posterior standard deviations: ‖L⁻¹ (m̂ − m)‖ with L Lᵀ the exact covariance.
    const lp = cholesky(matrix(2, 2, exact.cov!)).factor.data;
    const e0 = (m.mean[0] - exact.mean[0]) / lp[0];
    const e1 = (m.mean[1] - exact.mean[1] - lp[2] * e0) / lp[3];
    const meanErr = Math.hypot(e0, e1);
    let num = 0, den = 0;
    for (let j = 0; j < 4; j++) {
      num += (m.cov.data[j] - exact.cov![j]) ** 2;
      den += exact.cov![j] ** 2;
    }
    const covErr = Math.sqrt(num / den);
    report.push(
      `y=${yv} θ=${angle}: mean [${[...m.mean].map((v) => v.toFixed(3))}] vs [${
        [...exact.mean].map((v) => v.toFixed(3))
      }] (err ${meanErr.toFixed(3)} sd); cov [${[...m.cov.data].map((v) => v.toFixed(3))}] vs [${
        [...exact.cov!].map((v) => v.toFixed(3))
      }] (rel err ${covErr.toFixed(3)})`,
    );
    assert(meanErr <= 0.2, `${report.join("\n")}\nmean error ${meanErr.toFixed(3)} posterior sd > 0.2`);
    assert(covErr <= 0.15, `${report.join("\n")}\ncovariance relative error ${covErr.toFixed(3)} > 0.15`);
  }
  console.log(report.join("\n"));
});

Deno.test("conditional samples do not depend on batch size or shard count (Workers included)", async () => {
  await initBackend("wasm");
  const d = 3, n = 50;
  const family = projectionOperator({ xShape: [d], m: 2 });
  const encoding = conditionEncoding(family);
  const net = new MLP({ features: d, hidden: [32, 32], conditionFeatures: encoding.features }, 4);
  const weights = await exportParams(net);
  const config = net.config;
  net.dispose();
  const x = new Float32Array(n * d);
  Rng.fromSeed(9).fillNormal(x);
  const { y, params } = family.corrupt({ shape: [n, d], data: x }, 5, 0.05);
  const input = (start: number, stop: number, batchSize: number): PosteriorShardInput => ({
    prior: { kind: "conditional", config, weights, sigmaData: 1, condition: encoding },
    sigmaMin: 1e-3,
    sigmaMax: 10,
    observations: {
      kind: "projection",
      config: { xShape: [d], m: 2 },
      params: family.sliceParams(params, start, stop),
      y: { shape: [stop - start, 2], data: y.data.slice(start * 2, stop * 2) },
      sigmaY: 0.05,
    },
    xShape: [d],
    seed: 21,
    firstRow: start,
    sampler: "ddpm",
    steps: 8,
    covariance: "mmps",
    batchSize,
  });
  const whole = (await samplePosteriorShard(input(0, n, n))).x.data;
  const batched = (await samplePosteriorShard(input(0, n, 7))).x.data;
  const parts = await runInWorkers(
    workerJobs.samplePosteriorShard,
    splitRows(n, 3).map(([a, b]) => input(a, b, 16)),
    { workers: 2 },
  );
  const joined = new Float32Array(n * d);
  parts.forEach((p, i) => joined.set(p.x.data, splitRows(n, 3)[i][0] * d));
  // Each row's condition is bound with the row, and each row draws from its own stream: bit-identical.
  for (let i = 0; i < n * d; i++) {
    assert(Object.is(whole[i], batched[i]), `batched ${i}: ${whole[i]} vs ${batched[i]}`);
    assert(Object.is(whole[i], joined[i]), `sharded ${i}: ${whole[i]} vs ${joined[i]}`);
  }
  // The condition matters: another observation for row 0 changes its sample.
  const moved = input(0, 1, 1);
  moved.observations!.y = { shape: [1, 2], data: Float32Array.of(y.data[0] + 1, y.data[1]) };
  const other = (await samplePosteriorShard(moved)).x.data;
  assert(!Object.is(other[0], whole[0]), "the sample ignored its condition");
});
