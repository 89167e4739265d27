/**
 * Batched CG on random SPD systems (float32 TF, cpu backend): solutions within 1e-4 relative of
 * a float64 host solve at rtol 1e-6; per-row masking (identity rows take 1 iteration, zero rows
 * 0 and stay 0); `maxiter` is honoured; no tensors leak.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { matrix } from "../lib/linalg/mod.ts";
import { solveSPD } from "./linalg_fixtures.ts";
import { conjugateGradient as batchedCG, minimalResidual as batchedMinRes } from "../lib/guidance/mod.ts";

await initBackend("cpu");

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** B random SPD matrices n×n (G Gᵀ/n + 0.1 I) and right-hand sides. */
function systems(bsz: number, n: number, seed: number): { m: Float64Array; b: Float64Array } {
  const rng = Rng.fromSeed(seed, "cg");
  const m = new Float64Array(bsz * n * n), b = new Float64Array(bsz * n);
  const g = new Float64Array(n * n);
  for (let k = 0; k < bsz; k++) {
    rng.fillNormal(g);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += g[i * n + t] * g[j * n + t];
        m[k * n * n + i * n + j] = s / n + (i === j ? 0.1 : 0);
      }
    }
  }
  rng.fillNormal(b);
  return { m, b };
}

function matvecOf(m: tf.Tensor3D): (v: tf.Tensor) => tf.Tensor {
  const [bsz, n] = m.shape;
  return (v) => tf.sum(tf.mul(m, tf.reshape(v, [bsz, 1, n])), 2);
}

Deno.test("solvers: random SPD systems solved to tolerance", () => {
  const bsz = 16, n = 8;
  const before = tf.memory().numTensors;
  const { m, b } = systems(bsz, n, 1);
  const mt = tf.tensor3d(Float32Array.from(m), [bsz, n, n]);
  const bt = tf.tensor2d(Float32Array.from(b), [bsz, n]);
  const res = batchedCG(matvecOf(mt), bt, { rtol: 1e-6, maxiter: 200 });
  const x = res.x.dataSync();
  const rel = res.residualNorm.dataSync();
  const bn = res.rhsNorm.dataSync();
  for (let k = 0; k < bsz; k++) {
    const ref = solveSPD(
      matrix(n, n, m.subarray(k * n * n, (k + 1) * n * n)),
      b.subarray(k * n, (k + 1) * n),
    );
    let err = 0, norm = 0;
    for (let i = 0; i < n; i++) err += (x[k * n + i] - ref[i]) ** 2, norm += ref[i] ** 2;
    assert(Math.sqrt(err / norm) < 1e-4, `row ${k}: relative error ${Math.sqrt(err / norm)}`);
    assert(rel[k] <= 1e-6 * bn[k] * 1.0001, `row ${k}: residual ${rel[k]} above tolerance`);
  }
  assert(res.iterations <= 200 && res.iterations >= n / 2, `iterations ${res.iterations}`);
  tf.dispose([mt, bt, res.x, res.residualNorm, res.rhsNorm, res.rowIterations]);
  assert(tf.memory().numTensors === before, `leaked ${tf.memory().numTensors - before} tensors`);
});

Deno.test("solvers: stops at maxiter; per-row masking", () => {
  const bsz = 4, n = 6;
  const { m, b } = systems(bsz, n, 2);
  // Row 1: identity (converges in one step). Row 2: zero right-hand side (no step at all).
  for (let i = 0; i < n * n; i++) m[n * n + i] = i % (n + 1) === 0 ? 1 : 0;
  for (let i = 0; i < n; i++) b[2 * n + i] = 0;
  const mt = tf.tensor3d(Float32Array.from(m), [bsz, n, n]);
  const bt = tf.tensor2d(Float32Array.from(b), [bsz, n]);

  const capped = batchedCG(matvecOf(mt), bt, { rtol: 1e-10, maxiter: 2 });
  assert(capped.iterations === 2, `expected 2 iterations, ran ${capped.iterations}`);
  const rn = capped.residualNorm.dataSync(), bn = capped.rhsNorm.dataSync();
  assert(rn[0] > 1e-10 * bn[0], "row 0 cannot have converged in 2 iterations");

  const full = batchedCG(matvecOf(mt), bt, { rtol: 1e-6, maxiter: 100 });
  const counts = full.rowIterations.dataSync();
  assert(counts[1] === 1, `identity row took ${counts[1]} iterations`);
  assert(counts[2] === 0, `zero row took ${counts[2]} iterations`);
  assert(counts[0] > 1 && counts[3] > 1, `random rows took ${counts[0]}, ${counts[3]}`);
  const x = full.x.dataSync();
  for (let i = 0; i < n; i++) {
    assert(Math.abs(x[n + i] - b[n + i]) < 1e-6, "identity row solution");
    assert(x[2 * n + i] === 0, "zero row solution stays 0");
  }
  // Without early exit the loop runs maxiter iterations and gives the same answer.
  const fixed = batchedCG(matvecOf(mt), bt, { rtol: 1e-6, maxiter: 40, earlyExit: false });
  assert(fixed.iterations === 40, "earlyExit false runs maxiter");
  const xf = fixed.x.dataSync();
  for (let i = 0; i < bsz * n; i++) {
    assert(Math.abs(xf[i] - x[i]) < 1e-5, `no-early-exit solution differs at ${i}`);
  }
  tf.dispose(
    [mt, bt, capped, full, fixed].flatMap((r) =>
      r instanceof tf.Tensor ? [r] : Object.values(r).filter((v) => v instanceof tf.Tensor)
    ),
  );
});

Deno.test("solvers: minimal residual iteration solves SPD and non-symmetric systems, residual never grows", () => {
  const rng = Rng.fromSeed(4);
  const b = 6, m = 3;
  // M_b = S_b + K_b with S_b SPD and K_b skew: non-symmetric, positive definite symmetric part.
  const mats: number[][] = [];
  for (let r = 0; r < b; r++) {
    const g = Array.from({ length: m * m }, () => rng.normal());
    const k = Array.from({ length: m * m }, () => rng.normal());
    const mat: number[] = [];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = i === j ? 1 : 0;
        for (let t = 0; t < m; t++) s += g[i * m + t] * g[j * m + t] / m;
        mat.push(s + 0.5 * (k[i * m + j] - k[j * m + i]));
      }
    }
    mats.push(mat);
  }
  const mT = tf.tensor3d(mats.flat(), [b, m, m]);
  const matvec = (v: tf.Tensor) => tf.squeeze(tf.matMul(mT, tf.expandDims(v, 2)), [2]);
  const rhs = tf.tensor2d(Array.from({ length: b * m }, () => rng.normal()), [b, m]);
  let last = Infinity;
  for (const iters of [1, 2, 4, 8, 200]) {
    const res = batchedMinRes(matvec, rhs, { maxiter: iters, rtol: 1e-7 });
    const worst = Math.max(...res.residualNorm.dataSync());
    if (!(worst <= last + 1e-6)) {
      throw new Error(`residual grew: ${worst} after ${iters} iterations, ${last} before`);
    }
    last = worst;
    if (iters === 200) {
      const check = tf.sub(matvec(res.x), rhs);
      const err = Math.max(...tf.abs(check).dataSync());
      if (!(err < 1e-4)) throw new Error(`MR did not solve the system: max |Mx − b| = ${err}`);
    }
    tf.dispose([res.x, res.residualNorm, res.rhsNorm, res.rowIterations]);
  }
});

Deno.test("solvers: CG and MR leave no tensors behind", () => {
  const rhs = tf.randomNormal([4, 3]);
  const matvec = (v: tf.Tensor) => tf.mul(v, 2);
  for (const solve of [batchedCG, batchedMinRes]) {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const r = solve(matvec, rhs, { maxiter: 3 });
      tf.dispose([r.x, r.residualNorm, r.rhsNorm, r.rowIterations]);
    }
    const leaked = tf.memory().numTensors - before;
    if (leaked !== 0) throw new Error(`${solve.name} leaked ${leaked} tensors over 5 solves`);
  }
  rhs.dispose();
});
