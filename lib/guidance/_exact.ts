/**
 * The exact MMPS step for small observations (docs/design.md §3): with m entries per observation,
 * G = Jᵀ Aᵀ (D × m per row) comes from ONE recorded forward pass of the denoiser over the batch
 * (lib/tensor/vjp.ts, whose output is x̂) and m backward passes through it, whose cotangents are the
 * m columns of Aᵀ (Aᵀ e_k for the k-th). The m × m system (σ_y² I + σ² A G) v = r is then solved
 * exactly per row on the host (LU with partial pivoting, float64: a learned Jacobian is not
 * symmetric), and E[x | x_t, y] ≈ x̂ + σ² G v. No iterative solver: exact for any network, at the
 * cost of m backward passes after one forward. (Tiling the batch m times for one forward + backward
 * costs the same backward work and m forward passes instead of one.)
 *
 * Private to lib/guidance; {@link mmpsDenoiser} chooses it (`solver: "exact"`, or `"auto"` when m is small).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { recordVjp } from "../tensor/vjp.ts";
import { luSolveBatchedInPlace } from "../linalg/mod.ts";
import type { BoundOperator } from "../operators/mod.ts";

/** The exact step's result: the posterior mean and the host-checked residual of its m × m solves. */
export interface ExactStep {
  mean: tf.Tensor;
  /** Largest and mean per-row ‖r − S v‖ / ‖r‖ of the solves (float64, ~1e-16 unless ill-conditioned). */
  maxRelResidual: number;
  meanRelResidual: number;
}

/**
 * E[x | x_t, y] by the exact small-observation path, for a denoiser `f(x, σ)`, an operator bound to
 * the batch, `y` `[B, ...yShape]`, σ_y² and the rows' σ. Runs inside the caller's `tf.tidy`, outside
 * any gradient computation (it records the forward pass itself).
 *
 * @example
 * ```ts
 * const { mean } = tf.tidy(() => exactMmpsStep(prior, op, y, 0.01 ** 2, xt, sigma));
 * ```
 */
export function exactMmpsStep(
  f: (x: tf.Tensor, sigma: tf.Tensor1D) => tf.Tensor,
  operator: BoundOperator,
  y: tf.Tensor,
  sy2: number,
  xt: tf.Tensor,
  sigma: tf.Tensor1D,
): ExactStep {
  const b = xt.shape[0], m = y.size / b;
  const ones = new Array(xt.rank - 1).fill(1);
  const recorded = recordVjp((x: tf.Tensor) => f(x, sigma), xt);
  let blocks: tf.Tensor[];
  try {
    // G_k = Jᵀ Aᵀ e_k for every row: the k-th column of G, one backward pass each.
    const eye = tf.eye(m);
    blocks = Array.from({ length: m }, (_, k) => {
      const ek = tf.tile(tf.slice(eye, [k, 0], [1, m]), [b, 1]);
      return recorded.vjp(operator.adjoint(tf.reshape(ek, y.shape)));
    });
  } finally {
    recorded.dispose();
  }
  const xhat = recorded.y;
  const r = tf.reshape(tf.sub(y, operator.apply(xhat)), [b, m]);
  // Column k of A_b G_b is A_b applied to row b of G_k: [B, m (i), m (k)].
  const ag = tf.stack(blocks.map((gk) => tf.reshape(operator.apply(gk), [b, m])), 2);
  const s = sigma.dataSync();
  const v = solveRows(ag.dataSync(), r.dataSync(), s, sy2, b, m);
  // σ² Σ_k G_k v_k, with v laid out k-major to match the blocks.
  const vk = tf.reshape(tf.transpose(tf.tensor2d(v.solution, [b, m])), [m, b, ...ones]);
  const correction = tf.sum(tf.mul(tf.stack(blocks), vk), 0);
  const s2 = tf.reshape(tf.square(sigma), [b, ...ones]);
  return {
    mean: tf.add(xhat, tf.mul(s2, correction)),
    maxRelResidual: v.maxRelResidual,
    meanRelResidual: v.meanRelResidual,
  };
}

/** Solve (σ_y² I + σ_b² AG_b) v_b = r_b for every row on the host; report the relative residuals. */
function solveRows(
  ag: ArrayLike<number>,
  r: ArrayLike<number>,
  sigma: ArrayLike<number>,
  sy2: number,
  b: number,
  m: number,
): { solution: Float32Array; maxRelResidual: number; meanRelResidual: number } {
  const sys = new Float64Array(b * m * m);
  for (let row = 0; row < b; row++) {
    const s2 = sigma[row] * sigma[row], o = row * m * m;
    for (let i = 0; i < m * m; i++) sys[o + i] = s2 * ag[o + i];
    for (let i = 0; i < m; i++) sys[o + i * m + i] += sy2;
  }
  const original = sys.slice();
  const x = luSolveBatchedInPlace(sys, Float64Array.from(r), b, m);
  let maxRel = 0, sumRel = 0;
  for (let row = 0; row < b; row++) {
    let res2 = 0, rhs2 = 0;
    for (let i = 0; i < m; i++) {
      let mv = 0;
      for (let j = 0; j < m; j++) mv += original[row * m * m + i * m + j] * x[row * m + j];
      res2 += (r[row * m + i] - mv) ** 2;
      rhs2 += r[row * m + i] ** 2;
    }
    const rel = rhs2 > 0 ? Math.sqrt(res2 / rhs2) : 0;
    maxRel = Math.max(maxRel, rel);
    sumRel += rel;
  }
  return { solution: Float32Array.from(x), maxRelResidual: maxRel, meanRelResidual: sumRel / b };
}
