/**
 * Dense float64 linear algebra: Cholesky reproduces A = L Lᵀ and the triangular solve L y = b to 1e-10; the Jacobi
 * eigendecomposition reconstructs A to 1e-10 with orthonormal vectors; eigenvalue clipping
 * returns a positive definite matrix.
 */
import { Rng } from "../lib/random.ts";
import {
  cholesky,
  clipEigenvalues,
  forwardSubstituteInPlace,
  identity,
  matmul,
  matrix,
  matvec,
  symmetricEigen,
  transpose,
} from "../lib/linalg/mod.ts";
import { randomSPD } from "./linalg_fixtures.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("linalg: Cholesky and the triangular solve", () => {
  for (const n of [1, 5, 40]) {
    const a = randomSPD(n, Rng.fromSeed(n, "spd"));
    const { factor, jitter } = cholesky(a);
    assert(jitter === 0, "no jitter for an SPD matrix");
    assert(maxAbsDiff(matmul(factor, transpose(factor)).data, a.data) < 1e-10, `L Lᵀ = A (n=${n})`);
    const b = new Float64Array(n);
    Rng.fromSeed(n, "b").fillNormal(b);
    const y = b.slice();
    forwardSubstituteInPlace(factor.data, 0, y, 0, n);
    assert(maxAbsDiff(matvec(factor, y), b) < 1e-10, `L y = b (n=${n})`);
  }
  // A semi-definite matrix gets a jitter instead of failing.
  const psd = matrix(2, 2, [1, 1, 1, 1]);
  assert(cholesky(psd).jitter > 0, "jitter for a singular matrix");
});

Deno.test("linalg: symmetric eigendecomposition and eigenvalue clipping", () => {
  const n = 12;
  const a = randomSPD(n, Rng.fromSeed(3, "spd"));
  for (let i = 0; i < n; i++) a.data[i * n + i] -= 3; // make it indefinite
  const { values, vectors } = symmetricEigen(a);
  for (let i = 1; i < n; i++) assert(values[i] >= values[i - 1], "ascending eigenvalues");
  const vtv = matmul(transpose(vectors), vectors);
  assert(maxAbsDiff(vtv.data, identity(n).data) < 1e-10, "orthonormal eigenvectors");
  const lam = matrix(n, n);
  for (let i = 0; i < n; i++) lam.data[i * n + i] = values[i];
  assert(maxAbsDiff(matmul(matmul(vectors, lam), transpose(vectors)).data, a.data) < 1e-10, "V Λ Vᵀ = A");
  assert(values[0] < 0, "test matrix is indefinite");
  const fixed = clipEigenvalues(a, 1e-3);
  assert(symmetricEigen(fixed).values[0] >= 1e-3 - 1e-12, "clipped eigenvalues ≥ floor");
});
