/**
 * Exact answers: with the exact denoiser of a Gaussian prior N(μ, Σ), every sampler must reproduce μ and Σ.
 * Also: the samplers do not leak tensors, and results do not depend on how rows are sharded.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { RowStreams } from "../lib/random.ts";
import { gaussianDenoiser } from "../lib/gaussian/mod.ts";
import { gaussianOf } from "./linalg_fixtures.ts";
import {
  initialSample,
  sampleDDIM,
  sampleDDPM,
  samplePC,
  sigmaGrid,
  veSchedule,
} from "../lib/diffusion/mod.ts";
import { assert } from "./tensor_assert.ts";

const MU = [1, -2, 0.5];
// Σ = L Lᵀ with eigenvalues spread over about two decades.
const SIGMA = [
  1.0,
  0.6,
  -0.2,
  0.6,
  1.2,
  0.1,
  -0.2,
  0.1,
  0.15,
];

/** Sample mean and covariance (float64) of row-major [n, d] data. */
function moments(x: Float32Array, d: number): { mean: number[]; cov: number[] } {
  const n = x.length / d;
  const mean = new Array(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j] / n;
  const cov = new Array(d * d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < d; k++) {
        cov[j * d + k] += (x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k]) / (n - 1);
      }
    }
  }
  return { mean, cov };
}

function frobenius(a: number[]): number {
  return Math.sqrt(a.reduce((s, v) => s + v * v, 0));
}

const N = 4096, STEPS = 512;
// Tolerances: the Monte-Carlo standard error of the mean is ≤ √(λ_max/N) ≈ 0.02 per coordinate and of the
// covariance ≈ √(2/N) ≈ 2 % relative (Frobenius). The samplers also shrink the covariance systematically: the
// start μ + σ(1)z misses Σ's share of the marginal variance (≈ 1 %), plus the discretisation; measured with
// 65536 samples the bias is 2 % at 512 steps (5–7 % at 128 steps). Hence 6 % on the covariance, 0.08 on the mean.
const MEAN_TOL = 0.08, COV_REL_TOL = 0.06;

for (const [name, sampler] of [["DDPM", sampleDDPM], ["DDIM", sampleDDIM], ["PC", samplePC]] as const) {
  Deno.test(`${name} with the exact Gaussian denoiser reproduces the prior's mean and covariance`, async () => {
    await initBackend("wasm");
    const before = tf.memory().numTensors;
    const d = gaussianDenoiser(gaussianOf(MU, SIGMA));
    const sigmas = sigmaGrid(veSchedule(1e-3, 10), STEPS);
    const rows = new RowStreams(11, 0, N);
    const x = initialSample(rows, [N, 3], sigmas[0], new Float32Array(MU));
    let calls = 0;
    const out = sampler(d, x, sigmas, rows, { onStep: () => calls++ });
    const data = (await out.data()) as Float32Array;
    tf.dispose([x, out]);
    d.dispose();
    assert(tf.memory().numTensors === before, `${name} leaked ${tf.memory().numTensors - before} tensors`);
    assert(calls === STEPS + 1, `onStep called ${calls} times`);
    const { mean, cov } = moments(data, 3);
    for (let j = 0; j < 3; j++) {
      assert(Math.abs(mean[j] - MU[j]) < MEAN_TOL, `${name} mean[${j}] = ${mean[j]} vs ${MU[j]}`);
    }
    const rel = frobenius(cov.map((c, i) => c - SIGMA[i])) / frobenius(SIGMA);
    const meanErr = Math.max(...mean.map((m, j) => Math.abs(m - MU[j])));
    console.log(
      `${name}: max |mean error| ${meanErr.toFixed(4)} (tol ${MEAN_TOL}), cov rel. error ${
        rel.toFixed(4)
      } (tol ${COV_REL_TOL})`,
    );
    assert(rel < COV_REL_TOL, `${name} covariance relative error ${rel.toFixed(4)} ≥ ${COV_REL_TOL}: ${cov}`);
  });
}

Deno.test("sampling is independent of sharding (row streams)", async () => {
  await initBackend("wasm");
  const d = gaussianDenoiser(gaussianOf(MU, SIGMA));
  const sigmas = sigmaGrid(veSchedule(), 16);
  const run = async (first: number, count: number) => {
    const rows = new RowStreams(5, first, count);
    const x = initialSample(rows, [count, 3], sigmas[0]);
    const y = sampleDDPM(d, x, sigmas, rows);
    const data = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    return data;
  };
  const whole = await run(0, 10);
  const parts = [...await run(0, 4), ...await run(4, 6)];
  d.dispose();
  for (let i = 0; i < whole.length; i++) {
    assert(Math.abs(whole[i] - parts[i]) < 1e-5, `row value ${i} differs`);
  }
});

Deno.test("1000 sampler steps keep numTensors flat", async () => {
  await initBackend("wasm");
  const d = gaussianDenoiser(gaussianOf(MU, SIGMA));
  const sigmas = sigmaGrid(veSchedule(), 1000);
  const rows = new RowStreams(3, 0, 64);
  const x = initialSample(rows, [64, 3], sigmas[0]);
  const counts: number[] = [];
  const y = samplePC(d, x, sigmas, rows, { onStep: () => counts.push(tf.memory().numTensors) });
  tf.dispose([x, y]);
  d.dispose();
  assert(counts.length === 1001, "progress calls");
  assert(
    counts.every((c) => c === counts[1]),
    `numTensors varied between ${Math.min(...counts)} and ${Math.max(...counts)}`,
  );
});

/** Solve A x = b (small dense, Gaussian elimination with partial pivoting) in float64. */
function solve(a: number[], b: number[], n: number): number[] {
  const m = a.slice(), x = b.slice();
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) p = i;
    for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j], m[k * n + j]];
    [x[k], x[p]] = [x[p], x[k]];
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / m[k * n + k];
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    for (let j = k + 1; j < n; j++) x[k] -= m[k * n + j] * x[j];
    x[k] /= m[k * n + k];
  }
  return x;
}

Deno.test("gaussianDenoiser equals x − σ²(Σ + σ²I)⁻¹(x − μ) row by row (per-row σ)", async () => {
  await initBackend("wasm");
  const d = gaussianDenoiser(gaussianOf(MU, SIGMA));
  const xs = [[0.3, -1, 2], [5, 5, -5], [1, -2, 0.5]], sig = [0.01, 1, 30];
  const out = d(tf.tensor2d(xs), tf.tensor1d(sig));
  const got = (await out.data()) as Float32Array;
  tf.dispose(out);
  d.dispose();
  xs.forEach((x, r) => {
    const s2 = sig[r] ** 2;
    const a = SIGMA.map((v, i) => v + (i % 4 === 0 ? s2 : 0));
    const v = solve(a, x.map((xi, j) => xi - MU[j]), 3);
    for (let j = 0; j < 3; j++) {
      const expect = x[j] - s2 * v[j];
      assert(
        Math.abs(got[r * 3 + j] - expect) < 1e-4 * Math.max(1, Math.abs(expect)),
        `row ${r}[${j}]: ${got[r * 3 + j]} vs ${expect}`,
      );
    }
  });
});
