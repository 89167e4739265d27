/**
 * MMPS: the moment-matching posterior denoiser (docs/design.md §3, Rozet et al. 2024).
 *
 * Given a prior denoiser d(x_t, σ) ≈ E[x | x_t], an operator A bound to a batch of observations
 * y (row b of x_t goes with observation b), and noise σ_y:
 *
 *   x̂ = d(x_t, σ),   r = y − A x̂,
 *   v  = (σ_y² I + A V Aᵀ)⁻¹ r            (a batched linear solve, one system per row),
 *   E[x | x_t, y] ≈ x̂ + σ² Jᵀ Aᵀ v,       J = ∂d/∂x_t (a vector–Jacobian product).
 *
 * The final term is σ² ∇_{x_t} log N(y | A x̂, σ_y² I + A V Aᵀ) with the covariance held fixed, so
 * it always goes through the VJP; only V, the covariance of x | x_t used in the linear system,
 * changes between the variants (same code path):
 *
 * - `"mmps"`: V = σ² J (Tweedie), applied with one VJP per solver iteration — exact for a Gaussian prior;
 * - `"zero"`: V = 0, so v = r / σ_y² (DPS-like guide, no solve);
 * - `"cov_t"`: V = σ² I (ΠGDM-like);
 * - `"cov_x"`: V = σ² I − σ⁴ (Σ_x + σ² I)⁻¹ from a covariance Σ_x of x (the prior's, or a Gaussian
 *   fit's with any prior, as the DiEM paper's manifold E-step does), applied in Σ_x's eigenbasis so
 *   every row's σ costs the same (equals `"mmps"` for a Gaussian prior with Σ_x its covariance).
 *
 * Solvers (`solver`): `exact` (for `"mmps"` with m ≤ `exactMax` entries per observation, `_exact.ts`)
 * forms G = Jᵀ Aᵀ with ONE recorded forward pass and m backward passes and solves the m × m
 * system by LU on the host: exact for any network, no solver iterations. `cg` / `mr` iterate with one VJP
 * per iteration. All VJPs of one call (solver iterations and the final term) back-propagate through
 * ONE recorded forward pass ({@link recordVjp}, lib/tensor/vjp.ts): a call costs one forward and
 * (iterations + 1) backward passes of the denoiser. `auto` takes `exact` when it applies, else `cg`.
 * Everything runs inside `tf.tidy`; the solvers free each iteration's tensors, and the recorded
 * activations are freed when the call returns.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { recordVjp } from "../tensor/vjp.ts";
import type { Denoiser } from "../diffusion/mod.ts";
import { type Matrix, symmetricEigen } from "../linalg/mod.ts";
import type { BoundOperator } from "../operators/mod.ts";
import { type SolverName, type SolverResult, solvers } from "./solvers.ts";
import { exactMmpsStep } from "./_exact.ts";
import { numel } from "../array.ts";

/** Which covariance of x | x_t enters the linear system. */
export type CovarianceKind = "mmps" | "zero" | "cov_t" | "cov_x";

/** The covariance kinds, for parameter schemas. */
export const covarianceKinds: readonly CovarianceKind[] = ["mmps", "zero", "cov_t", "cov_x"];

/** The solver choices of {@link MMPSOptions.solver}: the iterative ones, `exact`, and `auto`. */
export type MMPSSolver = "auto" | "exact" | SolverName;

/** The solver choices, for parameter schemas. */
export const mmpsSolvers: readonly MMPSSolver[] = ["auto", "exact", "cg", "mr"];

/** Default largest observation size m for which `auto` takes the exact path. */
export const defaultExactMax = 16;

/** What one posterior-denoiser call reports about its linear solve. */
export interface SolveStats {
  /** Which solve ran: `exact`, `cg`, `mr`, or `none` (covariance `"zero"`). */
  method: "exact" | SolverName | "none";
  /** Solver iterations run in this call (0 for `"zero"`). */
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
  /** Covariance Σ_x of x (D × D), required by `"cov_x"`. */
  covX?: Matrix;
  /**
   * Linear solver: `exact` (covariance `"mmps"` only, m ≤ `exactMax`: G = Jᵀ Aᵀ from m backward passes
   * through one recorded forward pass, LU per row), `cg` (conjugate gradient, exact for a symmetric positive definite
   * system), `mr` (minimal residual iteration, GMRES(1) restarted: robust when a learned Jacobian
   * makes the system non-symmetric or indefinite), or `auto` (default: `exact` where it applies, else `cg`).
   */
  solver?: MMPSSolver;
  /** Largest observation size m for which `auto` takes `exact` (default 16). */
  exactMax?: number;
  /** Solver iteration cap (default: the observation size m, where exact CG terminates; the paper uses 1 for images). */
  maxiter?: number;
  /** Solver relative tolerance per row (default 1e-6). */
  rtol?: number;
  /**
   * Stop the solver when every row has converged, reading one flag from the device per iteration
   * (default true). Set false on backends without synchronous reads (webgpu in Deno): the solver then
   * always runs `maxiter` iterations with per-row masking, and `onSolve` must stay unset.
   */
  earlyExit?: boolean;
  /** Called after every denoiser call with the solve's statistics (costs a small host read). */
  onSolve?: (stats: SolveStats) => void;
}

/**
 * Accumulates {@link SolveStats} across calls (one sampling run): pass `collector.onSolve` as
 * {@link MMPSOptions.onSolve}, then `collector.summary()` for the stage's metadata.
 *
 * @example
 * ```ts
 * const stats = solveStatsCollector();
 * const post = mmpsDenoiser(prior, op, y, 0.01, { onSolve: stats.onSolve });
 * // … run a sampler with `post` …
 * ctx.meta({ solver: stats.summary() });
 * ```
 */
export function solveStatsCollector(): {
  onSolve: (s: SolveStats) => void;
  summary: () => {
    method: SolveStats["method"] | null;
    calls: number;
    meanIterations: number;
    maxIterations: number;
    maxRelResidual: number;
    meanRelResidual: number;
  };
} {
  let calls = 0, iters = 0, maxIters = 0, maxRel = 0, sumRel = 0;
  let method: SolveStats["method"] | null = null;
  return {
    onSolve(s) {
      method = s.method;
      calls++;
      iters += s.iterations;
      maxIters = Math.max(maxIters, s.iterations);
      maxRel = Math.max(maxRel, s.maxRelResidual);
      sumRel += s.meanRelResidual;
    },
    summary: () => ({
      method,
      calls,
      meanIterations: calls ? iters / calls : 0,
      maxIterations: maxIters,
      maxRelResidual: maxRel,
      meanRelResidual: calls ? sumRel / calls : 0,
    }),
  };
}

/** The summary of a {@link solveStatsCollector}. */
export type SolveSummary = ReturnType<ReturnType<typeof solveStatsCollector>["summary"]>;

/**
 * The posterior denoiser (x_t, σ) ↦ E[x | x_t, y] for a prior denoiser, an operator bound to a
 * batch of B observations, their `y` `[B, ...yShape]` and σ_y. The returned function holds a few
 * tensors (not `y`, which the caller owns): call `dispose()` when done.
 *
 * @example
 * ```ts
 * const op = projectionOperator({ xShape: [5], m: 2 }).bind(params);
 * const post = mmpsDenoiser(priorDenoiser, op, yTensor, 0.01, { maxiter: 5, rtol: 1e-6 });
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
  const method = resolveSolver(kind, y.size / y.shape[0], options);
  const solve = solvers[method === "exact" ? "cg" : method];
  const solverOptions = {
    maxiter: options.maxiter ?? y.size / y.shape[0],
    rtol: options.rtol ?? 1e-6,
    earlyExit: options.earlyExit ?? true,
  };
  const sy2 = sigmaY * sigmaY;
  const eigen = kind === "cov_x" ? covXEigenbasis(options.covX, operator.xShape) : null;

  const denoise = (xt: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const b = xt.shape[0];
      if (y.shape[0] !== b) throw new Error(`x_t has ${b} rows, y has ${y.shape[0]}`);
      const s2 = tf.reshape(tf.square(sigma), [b, ...new Array(xt.rank - 1).fill(1)]);
      if (method === "exact") {
        const step = exactMmpsStep(prior, operator, y, sy2, xt, sigma);
        const { maxRelResidual, meanRelResidual } = step;
        options.onSolve?.({ method, iterations: 0, maxRelResidual, meanRelResidual, ...sigmaRange(sigma) });
        return step.mean;
      }
      // x̂ = d(x_t) once; every Jᵀu below (u ↦ gradient of Σ d(x)·u at x_t) reuses that forward pass.
      const recorded = recordVjp((x: tf.Tensor) => prior(x, sigma), xt);
      try {
        const xhat = recorded.y;
        const r = tf.sub(y, operator.apply(xhat));
        const cov = covarianceOperator(kind, sigma, s2, recorded.vjp, eigen);
        let v: tf.Tensor;
        if (cov === null) {
          v = tf.div(r, sy2);
          options.onSolve?.({
            method: "none",
            iterations: 0,
            maxRelResidual: 0,
            meanRelResidual: 0,
            ...sigmaRange(sigma),
          });
        } else {
          const matvec = (u: tf.Tensor) => tf.add(tf.mul(u, sy2), operator.apply(cov(operator.adjoint(u))));
          const res = solve(matvec, r, solverOptions);
          v = res.x;
          if (options.onSolve) options.onSolve({ method, ...solveStats(res, sigma) });
        }
        return tf.add(xhat, tf.mul(s2, recorded.vjp(operator.adjoint(v))));
      } finally {
        recorded.dispose();
      }
    });

  return Object.assign(denoise, { dispose: () => tf.dispose(eigen ? [eigen.u, eigen.lambda] : []) });
}

/**
 * Which solver a posterior denoiser with these options runs for observations of `m` entries:
 * `auto` is `exact` for covariance `"mmps"` with m ≤ `exactMax` and synchronous reads (the exact
 * path solves on the host), else `cg`. An explicit `exact` that cannot run is an error.
 *
 * @example
 * ```ts
 * resolveSolver("mmps", 2, { solver: "auto" }); // "exact"
 * resolveSolver("mmps", 784, {});               // "cg"
 * ```
 */
export function resolveSolver(
  kind: CovarianceKind,
  m: number,
  options: Pick<MMPSOptions, "solver" | "exactMax" | "earlyExit">,
): "exact" | SolverName {
  const requested = options.solver ?? "auto";
  if (!mmpsSolvers.includes(requested)) throw new Error(`unknown MMPS solver "${requested}"`);
  const exactMax = options.exactMax ?? defaultExactMax;
  const exactPossible = kind === "mmps" && m <= exactMax && options.earlyExit !== false;
  if (requested === "exact" && !exactPossible) {
    throw new Error(
      `solver exact needs covariance mmps, m ≤ exact_max (${exactMax}) and synchronous reads; ` +
        `got covariance ${kind}, m = ${m}${options.earlyExit === false ? ", no synchronous reads" : ""}`,
    );
  }
  if (requested === "auto") return exactPossible ? "exact" : "cg";
  return requested;
}

/** Σ_x = U diag(λ) Uᵀ as tensors (λ clipped at 0), for `"cov_x"`. */
function covXEigenbasis(
  covX: Matrix | undefined,
  xShape: readonly number[],
): { u: tf.Tensor2D; lambda: tf.Tensor2D } {
  const d = numel(xShape);
  if (!covX) throw new Error(`covariance "cov_x" needs a covariance of x (options.covX)`);
  if (covX.rows !== d || covX.cols !== d) {
    throw new Error(`covX is ${covX.rows}×${covX.cols}, x has ${d} entries`);
  }
  const { values, vectors } = symmetricEigen(covX);
  return {
    u: tf.tensor2d(Float32Array.from(vectors.data), [d, d]),
    lambda: tf.tensor2d(Float32Array.from(values, (v) => Math.max(v, 0)), [1, d]),
  };
}

/** w ↦ V w for the covariance variant, or null for `"zero"` (no solve). Called inside a tidy scope. */
function covarianceOperator(
  kind: CovarianceKind,
  sigma: tf.Tensor1D,
  s2: tf.Tensor,
  vjp: (u: tf.Tensor) => tf.Tensor,
  eigen: { u: tf.Tensor2D; lambda: tf.Tensor2D } | null,
): ((w: tf.Tensor) => tf.Tensor) | null {
  if (kind === "mmps") return (w) => tf.mul(s2, vjp(w));
  if (kind === "cov_t") return (w) => tf.mul(s2, w);
  if (kind === "cov_x") {
    const { u, lambda } = eigen!;
    const b = sigma.shape[0], d = u.shape[0];
    const s2col = tf.reshape(tf.square(sigma), [b, 1]);
    // σ² I − σ⁴ (Σ + σ² I)⁻¹ = U diag(σ² λ / (λ + σ²)) Uᵀ
    const scale = tf.div(tf.mul(s2col, lambda), tf.add(lambda, s2col));
    return (w) => {
      const coords = tf.matMul(tf.reshape(w, [b, d]), u);
      return tf.reshape(tf.matMul(tf.mul(coords, scale), u, false, true), w.shape);
    };
  }
  return null;
}

/** Relative residuals of one solve (a small host read). */
function solveStats(res: SolverResult, sigma: tf.Tensor1D): Omit<SolveStats, "method"> {
  const rn = res.residualNorm.dataSync(), bn = res.rhsNorm.dataSync();
  let maxRel = 0, sumRel = 0;
  for (let i = 0; i < rn.length; i++) {
    const rel = bn[i] > 0 ? rn[i] / bn[i] : 0;
    maxRel = Math.max(maxRel, rel);
    sumRel += rel;
  }
  return {
    iterations: res.iterations,
    maxRelResidual: maxRel,
    meanRelResidual: sumRel / rn.length,
    ...sigmaRange(sigma),
  };
}

function sigmaRange(sigma: tf.Tensor1D): { sigmaMin: number; sigmaMax: number } {
  const s = sigma.dataSync();
  let lo = Infinity, hi = -Infinity;
  for (const v of s) lo = Math.min(lo, v), hi = Math.max(hi, v);
  return { sigmaMin: lo, sigmaMax: hi };
}
