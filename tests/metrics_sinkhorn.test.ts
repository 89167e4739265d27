/**
 * Sinkhorn OT and divergence:
 * - tiny inputs: with λ = 1e-3 run to a marginal error of 2e-4, the entropic cost equals the exact OT
 *   (a permutation, found by brute force over 6! assignments) to 2e-3 relative;
 * - host float64 and TF (cpu backend, float32) iterations agree to 1e-3 relative;
 * - divergence ≈ 0 for samples of the same distribution (< 10 % of the shift-0.5 value) and grows
 *   monotonically with the shift;
 * - m = 1024 at the paper's settings: timing and iteration count printed.
 */
import { initBackend } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import type { NDArray } from "../lib/array.ts";
import { type SinkhornOptions, sinkhornOT } from "../lib/metrics/mod.ts";

await initBackend("cpu");

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function gaussianCloud(n: number, d: number, seed: number, shift = 0): NDArray<Float32Array> {
  const data = new Float32Array(n * d);
  Rng.fromSeed(seed, "cloud").fillNormal(data);
  for (let i = 0; i < data.length; i++) data[i] = 0.7 * data[i] + shift;
  return { shape: [n, d], data };
}

/** S = OT(U1, Q) − OT(U1, U2), as the evaluate task computes it. */
function sinkhornDivergence(u1: NDArray, u2: NDArray, q: NDArray, options: SinkhornOptions = {}) {
  const samples = sinkhornOT(u1, q, options);
  const reference = sinkhornOT(u1, u2, options);
  return { divergence: samples.cost - reference.cost, samples, reference };
}

/** ‖u_i − v_j‖², row-major `[n, m]`. */
function squaredDistances(u: NDArray, v: NDArray): Float64Array {
  const [n, d] = u.shape, m = v.shape[0];
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      for (let k = 0; k < d; k++) c[i * m + j] += (u.data[i * d + k] - v.data[j * d + k]) ** 2;
    }
  }
  return c;
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  }
  return out;
}

Deno.test("metrics_sinkhorn: tiny inputs agree with the exact assignment", () => {
  const n = 6;
  for (const seed of [1, 2, 3]) {
    const u = gaussianCloud(n, 2, seed), v = gaussianCloud(n, 2, seed + 100);
    const c = squaredDistances(u, v);
    let exact = Infinity;
    for (const p of permutations(n)) {
      let s = 0;
      for (let i = 0; i < n; i++) s += c[i * n + p[i]];
      exact = Math.min(exact, s / n);
    }
    // At small λ Sinkhorn's marginal error decays only like 1/iterations here; 2e-4 is plenty
    // for the cost, which is what is compared.
    const opts = { reg: 1e-3, maxiter: 20000, stopThreshold: 2e-4, checkEvery: 1 };
    const host = sinkhornOT(u, v, opts);
    assert(host.converged, `seed ${seed}: host Sinkhorn did not converge (${host.marginalError})`);
    assert(Math.abs(host.cost - exact) <= 2e-3 * exact, `seed ${seed}: host ${host.cost} vs exact ${exact}`);
    const viaTf = sinkhornOT(u, v, { ...opts, impl: "tf" });
    assert(Math.abs(viaTf.cost - exact) <= 2e-3 * exact, `seed ${seed}: tf ${viaTf.cost} vs exact ${exact}`);
  }
});

Deno.test("metrics_sinkhorn: host and TF implementations run the same iterations", () => {
  const u = gaussianCloud(64, 5, 4), v = gaussianCloud(64, 5, 5, 0.3);
  const opts = { maxiter: 50, stopThreshold: 0 };
  const host = sinkhornOT(u, v, opts);
  const viaTf = sinkhornOT(u, v, { ...opts, impl: "tf" });
  assert(host.iterations === 50 && viaTf.iterations === 50, "both ran 50 iterations");
  assert(Math.abs(host.cost - viaTf.cost) <= 1e-3 * host.cost, `host ${host.cost} vs tf ${viaTf.cost}`);
  assert(
    Math.abs(host.marginalError - viaTf.marginalError) <= 1e-2 * host.marginalError + 1e-6,
    "marginal errors",
  );
});

Deno.test("metrics_sinkhorn: ≈ 0 for the same distribution, grows with a shift", () => {
  const m = 256, d = 5;
  const u1 = gaussianCloud(m, d, 10), u2 = gaussianCloud(m, d, 11);
  const same = sinkhornDivergence(u1, u2, gaussianCloud(m, d, 12)).divergence;
  const values = [0.25, 0.5, 1].map((s) => sinkhornDivergence(u1, u2, gaussianCloud(m, d, 12, s)).divergence);
  console.log(
    `S(same) = ${same.toFixed(4)}, S(shift 0.25, 0.5, 1) = ${values.map((v) => v.toFixed(4)).join(", ")}`,
  );
  assert(Math.abs(same) < 0.1 * values[1], `same-distribution divergence ${same} not ≪ shifted ${values[1]}`);
  assert(values[0] < values[1] && values[1] < values[2], `not increasing with the shift: ${values}`);
});

Deno.test("metrics_sinkhorn: m = 1024 at the paper's settings (timing)", () => {
  const m = 1024, d = 5;
  const u1 = gaussianCloud(m, d, 20), u2 = gaussianCloud(m, d, 21), q = gaussianCloud(m, d, 22, 0.1);
  const t = performance.now();
  const s = sinkhornDivergence(u1, u2, q);
  const ms = performance.now() - t;
  console.log(
    `m=1024 D=5: ${ms.toFixed(0)} ms for both solves; S = ${s.divergence.toFixed(4)}; ` +
      `iterations ${s.samples.iterations}/${s.reference.iterations}, converged ${s.samples.converged}/${s.reference.converged}`,
  );
  assert(
    Number.isFinite(s.divergence) && s.divergence > 0,
    "finite positive divergence for a shifted sample",
  );
});
