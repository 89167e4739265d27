/**
 * MMPS: the moment-matching posterior denoiser (DESIGN §3, Rozet et al. 2024).
 *
 * Given a prior denoiser d(x_t, σ) ≈ E[x | x_t], an operator A bound to a batch of observations
 * y (row b of x_t goes with observation b), and noise σ_y:
 *
 *   x̂ = d(x_t, σ),   r = y − A x̂,
 *   v  = (σ_y² I + A V Aᵀ)⁻¹ r            (batched conjugate gradient, one system per row),
 *   E[x | x_t, y] ≈ x̂ + σ² Jᵀ Aᵀ v,       J = ∂d/∂x_t (a vector–Jacobian product).
 *
 * The final term is σ² ∇_{x_t} log N(y | A x̂, σ_y² I + A V Aᵀ) with the covariance held fixed, so
 * it always goes through the VJP; only V, the covariance of x | x_t used in the linear system,
 * changes between the variants (same code path):
 *
 * - `"mmps"`: V = σ² J (Tweedie), applied with one VJP per CG iteration — exact for a Gaussian prior;
 * - `"zero"`: V = 0, so v = r / σ_y² (DPS-like guide, no CG);
 * - `"cov_t"`: V = σ² I (ΠGDM-like);
 * - `"cov_x"`: V = σ² I − σ⁴ (Σ_x + σ² I)⁻¹ from the prior covariance Σ_x, applied in Σ_x's
 *   eigenbasis so every row's σ costs the same (equals `"mmps"` for a Gaussian prior).
 *
 * Cost: TF.js has no public way to keep a forward pass's tape for several backward passes, so every
 * VJP re-runs the denoiser forward (forward + backward per CG iteration, plus one for x̂ and one for
 * the final term). Everything runs inside `tf.tidy`; CG frees each iteration's tensors.
 *
 * Gradients: `@tensorflow/tfjs-core` alone registers no gradient kernels; importing
 * `lib/tensor/backend.ts` (done here) loads them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "../tensor/backend.ts";
import type { Denoiser } from "../diffusion/types.ts";
import { type Matrix, symmetricEigen } from "../linalg/mod.ts";
import type { BoundOperator } from "../operators/mod.ts";
import { batchedCG, batchedMinRes } from "./solvers.ts";

/** Which covariance of x | x_t enters the linear system. */
export type CovarianceKind = "mmps" | "zero" | "cov_t" | "cov_x";

/** The covariance kinds, for parameter schemas. */
export const covarianceKinds: readonly CovarianceKind[] = ["mmps", "zero", "cov_t", "cov_x"];

/** What one posterior-denoiser call reports about its linear solve. */
export interface CGCallStats {
  /** CG iterations run in this call (0 for `"zero"`). */
  iterations: number;
  /** Largest per-row relative residual ‖r − M v‖ / ‖r‖ at exit. */
  maxRelResidual: number;
  /** Mean per-row relative residual at exit. */
  meanRelResidual: number;
  /** Smallest and largest σ of the batch. */
  sigmaMin: number;
  sigmaMax: number;
}

/** Options of {@link mmpsDenoiser}. */
export interface MMPSOptions {
  /** Covariance variant (default `"mmps"`). */
  covariance?: CovarianceKind;
  /** Prior covariance Σ_x (D × D), required by `"cov_x"`. */
  priorCov?: Matrix;
  /** CG iteration cap (default: the observation size m, where exact CG terminates; the paper uses 1 for images). */
  cgMaxiter?: number;
  /**
   * Linear solver: `cg` (conjugate gradient, exact for a symmetric positive definite system) or `mr`
   * (minimal residual iteration, GMRES(1) restarted: robust when a learned Jacobian makes the
   * system non-symmetric or indefinite). Default `cg`.
   */
  solver?: "cg" | "mr";
  /** CG relative tolerance per row (default 1e-6). */
  cgRtol?: number;
  /**
   * Stop CG when every row has converged, reading one flag from the device per iteration (default
   * true). Set false on backends without synchronous reads (webgpu in Deno): CG then always runs
   * `cgMaxiter` iterations with per-row masking, and `onCG` must stay unset.
   */
  cgEarlyExit?: boolean;
  /** Called after every denoiser call with the solve's statistics (costs a small host read). */
  onCG?: (stats: CGCallStats) => void;
}

/**
 * Accumulates {@link CGCallStats} across calls (one sampling run): pass `collector.onCG` as
 * {@link MMPSOptions.onCG}, then `collector.summary()` for the stage's metadata.
 *
 * @example
 * ```ts
 * const cg = cgStatsCollector();
 * const post = mmpsDenoiser(prior, op, y, 0.01, { onCG: cg.onCG });
 * // … run a sampler with `post` …
 * ctx.meta({ cg: cg.summary() });
 * ```
 */
export function cgStatsCollector(): {
  onCG: (s: CGCallStats) => void;
  summary: () => {
    calls: number;
    meanIterations: number;
    maxIterations: number;
    maxRelResidual: number;
    meanRelResidual: number;
  };
} {
  let calls = 0, iters = 0, maxIters = 0, maxRel = 0, sumRel = 0;
  return {
    onCG(s) {
      calls++;
      iters += s.iterations;
      maxIters = Math.max(maxIters, s.iterations);
      maxRel = Math.max(maxRel, s.maxRelResidual);
      sumRel += s.meanRelResidual;
    },
    summary: () => ({
      calls,
      meanIterations: calls ? iters / calls : 0,
      maxIterations: maxIters,
      maxRelResidual: maxRel,
      meanRelResidual: calls ? sumRel / calls : 0,
    }),
  };
}

/**
 * The posterior denoiser (x_t, σ) ↦ E[x | x_t, y] for a prior denoiser, an operator bound to a
 * batch of B observations, their `y` `[B, ...yShape]` and σ_y. The returned function holds a few
 * tensors (not `y`, which the caller owns): call `dispose()` when done.
 *
 * @example
 * ```ts
 * const op = projectionOperator({ xShape: [5], m: 2 }).bind(params);
 * const post = mmpsDenoiser(priorDenoiser, op, yTensor, 0.01, { cgMaxiter: 5, cgRtol: 1e-6 });
 * const x0 = sampleDDPM(post, …);   // any sampler takes it
 * post.dispose(); op.dispose();
 * ```
 */
export function mmpsDenoiser(
  prior: Denoiser,
  operator: BoundOperator,
  y: tf.Tensor,
  sigmaY: number,
  options: MMPSOptions = {},
): Denoiser & { dispose(): void } {
  const kind = options.covariance ?? "mmps";
  if (!covarianceKinds.includes(kind)) throw new Error(`unknown MMPS covariance "${kind}"`);
  if (!(sigmaY >= 0)) throw new Error(`sigma_y must be ≥ 0, got ${sigmaY}`);
  if (kind === "zero" && !(sigmaY > 0)) throw new Error(`covariance "zero" needs sigma_y > 0`);
  if (operator.batch !== null && y.shape[0] !== operator.batch) {
    throw new Error(`y has ${y.shape[0]} rows, operator is bound to ${operator.batch} observations`);
  }
  const m = y.size / y.shape[0];
  const cgMaxiter = options.cgMaxiter ?? m;
  const cgRtol = options.cgRtol ?? 1e-6;
  const earlyExit = options.cgEarlyExit ?? true;
  const d = operator.xShape.reduce((a, b) => a * b, 1);
  const sy2 = sigmaY * sigmaY;

  // Σ_x in its eigenbasis, for "cov_x".
  let eigU: tf.Tensor2D | null = null, eigL: tf.Tensor2D | null = null;
  if (kind === "cov_x") {
    const s = options.priorCov;
    if (!s) throw new Error(`covariance "cov_x" needs the prior covariance (options.priorCov)`);
    if (s.rows !== d || s.cols !== d) throw new Error(`priorCov is ${s.rows}×${s.cols}, x has ${d} entries`);
    const { values, vectors } = symmetricEigen(s);
    eigU = tf.tensor2d(Float32Array.from(vectors.data), [d, d]);
    eigL = tf.tensor2d(Float32Array.from(values, (v) => Math.max(v, 0)), [1, d]);
  }

  const denoise = (xt: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const b = xt.shape[0];
      if (y.shape[0] !== b) throw new Error(`x_t has ${b} rows, y has ${y.shape[0]}`);
      const bcast = [b, ...new Array(xt.rank - 1).fill(1)];
      const s2 = tf.reshape(tf.square(sigma), bcast);
      const f = (x: tf.Tensor) => prior(x, sigma);
      // Jᵀu by reverse mode: the gradient of Σ d(x)·u with respect to x.
      const vjp = (u: tf.Tensor): tf.Tensor => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), u)))(xt);

      const xhat = f(xt);
      const r = tf.sub(y, operator.apply(xhat));

      let covTimes: ((w: tf.Tensor) => tf.Tensor) | null = null;
      if (kind === "mmps") covTimes = (w) => tf.mul(s2, vjp(w));
      else if (kind === "cov_t") covTimes = (w) => tf.mul(s2, w);
      else if (kind === "cov_x") {
        const s2col = tf.reshape(tf.square(sigma), [b, 1]);
        // σ² I − σ⁴ (Σ + σ² I)⁻¹ = U diag(σ² λ / (λ + σ²)) Uᵀ
        const scale = tf.div(tf.mul(s2col, eigL!), tf.add(eigL!, s2col));
        covTimes = (w) => {
          const flat = tf.reshape(w, [b, d]);
          const coords = tf.matMul(flat, eigU!);
          return tf.reshape(tf.matMul(tf.mul(coords, scale), eigU!, false, true), w.shape);
        };
      }

      let v: tf.Tensor;
      if (covTimes === null) {
        v = tf.div(r, sy2);
        options.onCG?.({ iterations: 0, maxRelResidual: 0, meanRelResidual: 0, ...sigmaRange(sigma) });
      } else {
        const cov = covTimes;
        const matvec = (u: tf.Tensor) => tf.add(tf.mul(u, sy2), operator.apply(cov(operator.adjoint(u))));
        const solve = options.solver === "mr" ? batchedMinRes : batchedCG;
        const res = solve(matvec, r, { maxiter: cgMaxiter, rtol: cgRtol, earlyExit });
        v = res.x;
        if (options.onCG) {
          const rn = res.residualNorm.dataSync(), bn = res.rhsNorm.dataSync();
          let maxRel = 0, sumRel = 0;
          for (let i = 0; i < rn.length; i++) {
            const rel = bn[i] > 0 ? rn[i] / bn[i] : 0;
            maxRel = Math.max(maxRel, rel);
            sumRel += rel;
          }
          options.onCG({
            iterations: res.iterations,
            maxRelResidual: maxRel,
            meanRelResidual: sumRel / rn.length,
            ...sigmaRange(sigma),
          });
        }
      }
      return tf.add(xhat, tf.mul(s2, vjp(operator.adjoint(v))));
    });

  return Object.assign(denoise, {
    dispose(): void {
      if (eigU) eigU.dispose();
      if (eigL) eigL.dispose();
    },
  });
}

function sigmaRange(sigma: tf.Tensor1D): { sigmaMin: number; sigmaMax: number } {
  const s = sigma.dataSync();
  let lo = Infinity, hi = -Infinity;
  for (const v of s) lo = Math.min(lo, v), hi = Math.max(hi, v);
  return { sigmaMin: lo, sigmaMax: hi };
}
