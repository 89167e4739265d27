/**
 * The exact small-observation MMPS path (lib/guidance/_exact.ts) against independent answers:
 * - the batched LU solve against A x = r (non-symmetric matrices, a zero leading pivot);
 * - on a Gaussian prior (exact denoiser), `solver: exact` against CG run to convergence and against
 *   the closed-form posterior mean (projection m = 2, mask, blur 4×4 with m = 16), float32 on cpu;
 * - with a trained-style network (random MLP: a non-symmetric Jacobian), against the m × m system
 *   assembled on the host from m separate `tf.grad` VJPs (no tiling) and solved in float64;
 * - `auto` picks exact for m ≤ exact_max and covariance mmps, cg otherwise; explicit exact that
 *   cannot run is an error.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { grad } from "../lib/tensor/gradients.ts";
import { gaussianDenoiser } from "../lib/gaussian/mod.ts";
import { edmDenoiser } from "../lib/diffusion/mod.ts";
import { MLP } from "../lib/nn/mod.ts";
import { Rng } from "../lib/random.ts";
import { luSolveBatchedInPlace } from "../lib/linalg/mod.ts";
import { blurOperator, maskOperator, type OperatorFamily, projectionOperator } from "../lib/operators/mod.ts";
import { randomSPD } from "./linalg_fixtures.ts";
import { mmpsDenoiser, resolveSolver, solveStatsCollector } from "../lib/guidance/mod.ts";
import { assert } from "./tensor_assert.ts";

await initBackend("cpu");

Deno.test("linalg: batched LU with partial pivoting solves general systems", () => {
  const rng = Rng.fromSeed(5, "lu");
  const n = 6, count = 4;
  const a = new Float64Array(count * n * n);
  rng.fillNormal(a);
  for (let i = 0; i < n; i++) a[i * n + 0] = i === 3 ? 1 : 0; // system 0: column 0 has a single non-zero, off the diagonal
  const r = new Float64Array(count * n);
  rng.fillNormal(r);
  const x = luSolveBatchedInPlace(a.slice(), r.slice(), count, n);
  for (let s = 0; s < count; s++) {
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += a[s * n * n + i * n + j] * x[s * n + j];
      assert(Math.abs(v - r[s * n + i]) < 1e-10, `system ${s} row ${i}: ${v} vs ${r[s * n + i]}`);
    }
  }
  let threw = false;
  try {
    luSolveBatchedInPlace(new Float64Array(4), new Float64Array(2), 1, 2);
  } catch (e) {
    threw = /system 0 is singular/.test((e as Error).message);
  }
  assert(threw, "a singular system is an error naming it");
});

const families: [string, OperatorFamily][] = [
  ["projection D=5 m=2", projectionOperator({ xShape: [5], m: 2 })],
  ["mask D=5", maskOperator({ xShape: [5], keep: 0.6 })],
  ["blur 4×4×1 (m=16)", blurOperator({ xShape: [4, 4, 1], width: 0.7, size: 3 })],
];

for (const [name, family] of families) {
  Deno.test(`mmps exact: ${name}: Gaussian prior, agrees with CG to convergence`, () => {
    const d = family.xShape.reduce((a, b) => a * b, 1);
    const bsz = 5, sigmaY = 0.1;
    const rng = Rng.fromSeed(2, name);
    const cov = randomSPD(d, rng);
    const mean = new Float64Array(d);
    rng.fillNormal(mean);
    const x = new Float32Array(bsz * d);
    rng.fillNormal(x);
    const { y, params } = family.corrupt({ shape: [bsz, ...family.xShape], data: x }, 3, sigmaY);
    const den = gaussianDenoiser({ mean, cov });
    const op = family.bind(params);
    const yt = tf.tensor(y.data, y.shape);
    const stats = solveStatsCollector();
    const exact = mmpsDenoiser(den, op, yt, sigmaY, { solver: "exact", onSolve: stats.onSolve });
    const cg = mmpsDenoiser(den, op, yt, sigmaY, { solver: "cg", maxiter: 200, rtol: 1e-7 });
    const before = tf.memory().numTensors;
    for (const sigma of [0.01, 0.3, 2, 10]) {
      const xt = tf.tensor(x.map((v) => v + sigma * rng.normal()), [bsz, ...family.xShape]);
      const sig = tf.fill([bsz], sigma) as tf.Tensor1D;
      const [a, b] = [exact(xt, sig), cg(xt, sig)];
      const [ga, gb] = [a.dataSync(), b.dataSync()];
      for (let i = 0; i < ga.length; i++) {
        const tol = 2e-4 * Math.max(1, Math.abs(gb[i]));
        assert(Math.abs(ga[i] - gb[i]) <= tol, `σ=${sigma} entry ${i}: exact ${ga[i]} vs cg ${gb[i]}`);
      }
      tf.dispose([xt, sig, a, b]);
    }
    assert(tf.memory().numTensors === before, `leaked ${tf.memory().numTensors - before} tensors`);
    const summary = stats.summary();
    assert(summary.method === "exact" && summary.calls === 4, `exact ran: ${JSON.stringify(summary)}`);
    assert(summary.maxRelResidual < 1e-9, `host solve residual ${summary.maxRelResidual}`);
    tf.dispose([yt]);
    exact.dispose(), cg.dispose(), op.dispose(), den.dispose();
  });
}

Deno.test("mmps exact: a network prior (non-symmetric J) matches the system built from separate VJPs", () => {
  const d = 5, m = 2, bsz = 3, sigmaY = 0.05;
  const family = projectionOperator({ xShape: [d], m });
  const net = new MLP({ features: d, hidden: [16, 16] }, 11);
  const prior = edmDenoiser(net);
  const rng = Rng.fromSeed(8, "network");
  const x = new Float32Array(bsz * d);
  rng.fillNormal(x);
  const { y, params } = family.corrupt({ shape: [bsz, d], data: x }, 6, sigmaY);
  const op = family.bind(params);
  const yt = tf.tensor(y.data, y.shape);
  const xt = tf.tensor2d(x, [bsz, d]);
  const sigmas = [0.05, 0.7, 3];
  const sig = tf.tensor1d(sigmas);
  const post = mmpsDenoiser(prior, op, yt, sigmaY, { solver: "auto" });
  const got = post(xt, sig).dataSync();
  // Reference: G_k = Jᵀ Aᵀ e_k by one tf.grad per k on the untiled batch; the system in float64.
  const xhat = prior(xt, sig);
  const r = tf.sub(yt, op.apply(xhat)).dataSync();
  const g = Array.from({ length: m }, (_, k) => {
    const ek = tf.tile(tf.cast(tf.oneHot([k], m), "float32"), [bsz, 1]);
    const atek = op.adjoint(ek);
    return grad((z: tf.Tensor) => tf.sum(tf.mul(prior(z, sig), atek)))(xt);
  });
  const ag = g.map((gk) => op.apply(gk).dataSync());
  const gHost = g.map((gk) => gk.dataSync());
  const xh = xhat.dataSync();
  for (let b = 0; b < bsz; b++) {
    const s2 = sigmas[b] ** 2;
    const sys = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let k = 0; k < m; k++) sys[i * m + k] = s2 * ag[k][b * m + i] + (i === k ? sigmaY ** 2 : 0);
    }
    assert(Math.abs(sys[1] - sys[2]) > 1e-6 * Math.abs(sys[1]), "the network's A J Aᵀ is not symmetric");
    const v = luSolveBatchedInPlace(sys, Float64Array.from(r.subarray(b * m, (b + 1) * m)), 1, m);
    for (let j = 0; j < d; j++) {
      let ref = xh[b * d + j];
      for (let k = 0; k < m; k++) ref += s2 * gHost[k][b * d + j] * v[k];
      const tol = 5e-4 * Math.max(1, Math.abs(ref));
      assert(Math.abs(got[b * d + j] - ref) <= tol, `row ${b} entry ${j}: ${got[b * d + j]} vs ${ref}`);
    }
  }
  tf.dispose([yt, xt, sig, xhat, ...g]);
  post.dispose(), op.dispose(), net.dispose();
});

Deno.test("mmps solver: auto picks exact for small m and mmps; exact that cannot run is an error", () => {
  assert(resolveSolver("mmps", 2, {}) === "exact", "auto, m = 2");
  assert(resolveSolver("mmps", 16, { solver: "auto" }) === "exact", "auto, m = exact_max");
  assert(resolveSolver("mmps", 17, {}) === "cg", "auto, m > exact_max");
  assert(resolveSolver("mmps", 17, { exactMax: 32 }) === "exact", "auto, raised exact_max");
  assert(resolveSolver("cov_x", 2, {}) === "cg", "auto, cov_x");
  assert(resolveSolver("mmps", 2, { earlyExit: false }) === "cg", "auto without synchronous reads");
  assert(resolveSolver("mmps", 2, { solver: "mr" }) === "mr", "explicit mr");
  for (const [kind, m] of [["cov_t", 2], ["mmps", 40]] as const) {
    let threw = false;
    try {
      resolveSolver(kind, m, { solver: "exact" });
    } catch (e) {
      threw = /solver exact needs covariance mmps, m ≤ exact_max/.test((e as Error).message);
    }
    assert(threw, `exact with ${kind}, m = ${m} is an error`);
  }
});
