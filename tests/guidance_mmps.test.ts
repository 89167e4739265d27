/**
 * MMPS against the exact answer. With the exact Gaussian prior denoiser
 * d(x, σ) = x − σ²(Σ + σ²I)⁻¹(x − μ) (lib/gaussian/denoiser.ts), E[x | x_t, y] from MMPS must
 * equal the analytic posterior mean of the joint Gaussian x ~ N(μ, Σ), x_t = x + σ z,
 * y = A x + σ_y ε:  P = Σ⁻¹ + I/σ² + AᵀA/σ_y²,  mean = P⁻¹(Σ⁻¹μ + x_t/σ² + Aᵀy/σ_y²)
 * (float64 on the host). Float32 TF on the cpu backend; tolerance 2e-4 × max(1, |reference|)
 * per entry, at σ ∈ {0.01, 0.1, 1, 10}, for a random 5-D prior and random projections m = 2, a
 * mask, and a blur on 4×4 images. "cov_x" must agree too (it equals MMPS for a Gaussian prior);
 * "zero" must equal the DPS form x̂ + σ²/σ_y² Jᵀ Aᵀ (y − A x̂).
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { gaussianDenoiser } from "../lib/gaussian/mod.ts";
import { Rng } from "../lib/random.ts";
import { matmul, type Matrix, matrix, matvec, transpose } from "../lib/linalg/mod.ts";
import { blurOperator, maskOperator, type OperatorFamily, projectionOperator } from "../lib/operators/mod.ts";
import { denseOperatorMatrix, gaussianOf, inverseSPD, randomSPD } from "./linalg_fixtures.ts";
import {
  type CovarianceKind,
  mmpsDenoiser,
  type MMPSSolver,
  solveStatsCollector,
} from "../lib/guidance/mod.ts";

await initBackend("cpu");

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function analyticMean(
  mu: Float64Array,
  sigmaX: Matrix,
  a: Matrix,
  xt: ArrayLike<number>,
  y: ArrayLike<number>,
  sigma: number,
  sigmaY: number,
): Float64Array {
  const d = mu.length;
  const sInv = inverseSPD(sigmaX);
  const ata = matmul(transpose(a), a);
  const p = matrix(d, d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      p.data[i * d + j] = sInv.data[i * d + j] + ata.data[i * d + j] / sigmaY ** 2 +
        (i === j ? 1 / sigma ** 2 : 0);
    }
  }
  const rhs = matvec(sInv, mu);
  const aty = matvec(transpose(a), y);
  for (let i = 0; i < d; i++) rhs[i] += xt[i] / sigma ** 2 + aty[i] / sigmaY ** 2;
  return matvec(inverseSPD(p), rhs);
}

interface Setup {
  name: string;
  family: OperatorFamily;
}

const setups: Setup[] = [
  { name: "projection D=5 m=2", family: projectionOperator({ xShape: [5], m: 2 }) },
  { name: "mask D=5", family: maskOperator({ xShape: [5], keep: 0.6 }) },
  { name: "blur 4×4×1", family: blurOperator({ xShape: [4, 4, 1], width: 0.7, size: 3 }) },
];

const SIGMAS = [0.01, 0.1, 1, 10];

for (const { name, family } of setups) {
  const variants: [CovarianceKind, MMPSSolver][] = [["mmps", "exact"], ["mmps", "cg"], ["cov_x", "auto"]];
  for (const [kind, solver] of variants) {
    Deno.test(`mmps: ${name}, ${kind}, solver ${solver}: equals the analytic E[x | x_t, y]`, () => {
      const d = family.xShape.reduce((a, b) => a * b, 1);
      const bsz = 6, sigmaY = 0.1;
      const rng = Rng.fromSeed(1, name);
      const sigmaX = randomSPD(d, rng);
      const mu = new Float64Array(d);
      rng.fillNormal(mu);
      const x = new Float32Array(bsz * d);
      rng.fillNormal(x);
      const { y, params } = family.corrupt({ shape: [bsz, ...family.xShape], data: x }, 2, sigmaY);
      const den = gaussianDenoiser(gaussianOf(mu, sigmaX.data));
      const op = family.bind(params);
      const yt = tf.tensor(y.data, y.shape);
      const cg = solveStatsCollector();
      const post = mmpsDenoiser(den, op, yt, sigmaY, {
        covariance: kind,
        solver,
        covX: sigmaX,
        maxiter: 100,
        rtol: 1e-7,
        onSolve: cg.onSolve,
      });
      const ylen = family.yShape.reduce((a, b) => a * b, 1);
      const before = tf.memory().numTensors;
      for (const sigma of SIGMAS) {
        const xtHost = new Float32Array(bsz * d);
        for (let i = 0; i < xtHost.length; i++) xtHost[i] = x[i] + sigma * rng.normal();
        const xt = tf.tensor(xtHost, [bsz, ...family.xShape]);
        const sig = tf.fill([bsz], sigma) as tf.Tensor1D;
        const out = post(xt, sig);
        assert(out.shape.join() === xt.shape.join(), `output shape ${out.shape}`);
        const got = out.dataSync();
        for (let b = 0; b < bsz; b++) {
          const ref = analyticMean(
            mu,
            sigmaX,
            denseOperatorMatrix(family, params, b),
            xtHost.subarray(b * d, (b + 1) * d),
            y.data.subarray(b * ylen, (b + 1) * ylen),
            sigma,
            sigmaY,
          );
          for (let j = 0; j < d; j++) {
            const tol = 2e-4 * Math.max(1, Math.abs(ref[j]));
            assert(
              Math.abs(got[b * d + j] - ref[j]) <= tol,
              `${name} ${kind} σ=${sigma} row ${b} entry ${j}: ${got[b * d + j]} vs ${ref[j]} (tol ${tol})`,
            );
          }
        }
        tf.dispose([xt, sig, out]);
      }
      assert(tf.memory().numTensors === before, `leaked ${tf.memory().numTensors - before} tensors`);
      const summary = cg.summary();
      assert(summary.calls === SIGMAS.length, "one CG report per call");
      post.dispose();
      op.dispose();
      den.dispose();
      yt.dispose();
    });
  }
}

Deno.test("mmps: 'zero' is the DPS form; 'cov_t' runs; rows may have different σ", () => {
  const family = projectionOperator({ xShape: [5], m: 2 });
  const d = 5, bsz = 4, sigmaY = 0.2;
  const rng = Rng.fromSeed(3, "heuristics");
  const sigmaX = randomSPD(d, rng);
  const mu = new Float64Array(d);
  const x = new Float32Array(bsz * d);
  rng.fillNormal(x);
  const { y, params } = family.corrupt({ shape: [bsz, d], data: x }, 4, sigmaY);
  const den = gaussianDenoiser(gaussianOf(mu, sigmaX.data));
  const op = family.bind(params);
  const yt = tf.tensor(y.data, y.shape);
  const xt = tf.tensor(x, [bsz, d]);
  const sig = tf.tensor1d([0.05, 0.5, 1, 3]);
  // Exact Gaussian: J = Σ(Σ+σ²I)⁻¹ is symmetric, so Jᵀ Aᵀ r can be formed on the host.
  const zero = mmpsDenoiser(den, op, yt, sigmaY, { covariance: "zero" })(xt, sig).dataSync();
  const xhat = den(xt, sig).dataSync();
  const sigmas = [0.05, 0.5, 1, 3];
  for (let b = 0; b < bsz; b++) {
    const s2 = sigmas[b] ** 2;
    const a = denseOperatorMatrix(family, params, b);
    const ax = matvec(a, xhat.subarray(b * d, (b + 1) * d));
    const r = [y.data[b * 2] - ax[0], y.data[b * 2 + 1] - ax[1]];
    const atr = matvec(transpose(a), r);
    const shifted = matrix(d, d, sigmaX.data.slice());
    for (let i = 0; i < d; i++) shifted.data[i * d + i] += s2;
    const jt = matvec(matmul(sigmaX, inverseSPD(shifted)), atr);
    for (let j = 0; j < d; j++) {
      const ref = xhat[b * d + j] + (s2 / sigmaY ** 2) * jt[j];
      assert(
        Math.abs(zero[b * d + j] - ref) <= 2e-4 * Math.max(1, Math.abs(ref)),
        `zero row ${b} entry ${j}`,
      );
    }
  }
  const covT = mmpsDenoiser(den, op, yt, sigmaY, { covariance: "cov_t", maxiter: 10 })(xt, sig).dataSync();
  assert(covT.every(Number.isFinite), "cov_t finite");
  let differs = 0;
  for (let i = 0; i < covT.length; i++) differs = Math.max(differs, Math.abs(covT[i] - zero[i]));
  assert(differs > 1e-3, "cov_t and zero give different guides");
  let threw = false;
  try {
    mmpsDenoiser(den, op, yt, sigmaY, { covariance: "cov_x" });
  } catch (e) {
    threw = /covX/.test((e as Error).message);
  }
  assert(threw, "cov_x without covX must throw");
  den.dispose();
  op.dispose();
  tf.dispose([yt, xt, sig]);
});
