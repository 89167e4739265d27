/**
 * Batched linear solvers for the linear system inside MMPS (docs/design.md §3): solve M_b v_b = r_b
 * independently for every row b of a batch, with M given only as a function on TF tensors
 * (`[B, ...]` → `[B, ...]`, each row mapped by its own operator).
 *
 * - {@link conjugateGradient} (`cg`): exact in at most m steps for a symmetric positive definite M;
 * - {@link minimalResidual} (`mr`, GMRES(1) restarted): needs neither symmetry nor definiteness, the
 *   residual never grows — what a learned, only approximately symmetric Jacobian needs.
 *
 * Both run on one driver ({@link iterateRows}): dot products are per row; a row stops updating (its
 * step sizes are masked to 0) once its residual norm is below `max(rtol·‖r_b‖, atol)`, so converged
 * rows are frozen while the others continue. The loop ends when every row has converged or after
 * `maxiter` iterations.
 *
 * Early exit reads one boolean from the device per iteration (`dataSync`). On a backend where
 * synchronous reads are unavailable (webgpu in Deno) pass `earlyExit: false`: the loop then runs
 * exactly `maxiter` iterations with per-row masking only, and no host read happens at all.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Options of the row solvers. */
export interface SolverOptions {
  /** Most iterations (default: the row size, where exact arithmetic converges). */
  maxiter?: number;
  /** Relative tolerance on each row's residual norm, ‖r‖ ≤ rtol ‖b‖ (default 1e-6). */
  rtol?: number;
  /** Absolute tolerance on each row's residual norm (default 0). */
  atol?: number;
  /** Starting point (default 0). Not disposed. */
  x0?: tf.Tensor;
  /** Stop as soon as every row has converged (one scalar host read per iteration; default true). */
  earlyExit?: boolean;
}

/** Result of a row solver. The caller disposes the tensors. */
export interface SolverResult {
  /** Solution `[B, ...]`. */
  x: tf.Tensor;
  /** Per-row residual norm ‖b − M x‖ (the recursively updated residual) `[B]`. */
  residualNorm: tf.Tensor1D;
  /** Per-row ‖b‖ `[B]`, to form relative residuals. */
  rhsNorm: tf.Tensor1D;
  /** Per-row number of iterations in which the row was still active `[B]` (float32). */
  rowIterations: tf.Tensor1D;
  /** Iterations run (the largest row count). */
  iterations: number;
}

/**
 * Per-row dot product of two `[B, ...]` tensors → `[B]`.
 *
 * @example
 * ```ts
 * const d = rowDot(a, b); // [B]
 * ```
 */
function rowDot(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const prod = tf.mul(a, b);
    return prod.rank === 1
      ? prod as tf.Tensor1D
      : tf.sum(tf.reshape(prod, [a.shape[0], -1]), 1) as tf.Tensor1D;
  });
}

/** Reshape a `[B]` per-row scalar to broadcast against `[B, ...]`. */
function perRow(s: tf.Tensor1D, like: tf.Tensor): tf.Tensor {
  return like.rank === 1 ? s : tf.reshape(s, [s.shape[0], ...new Array(like.rank - 1).fill(1)]);
}

/**
 * Solve M_b x_b = b_b for each row b by conjugate gradient (M symmetric positive definite per row).
 *
 * @example
 * ```ts
 * // M = diag(d) per row
 * const res = conjugateGradient((v) => tf.mul(d, v), rhs, { rtol: 1e-6, maxiter: 50 });
 * const x = res.x;
 * tf.dispose([res.x, res.residualNorm, res.rhsNorm, res.rowIterations]);
 * ```
 */
export function conjugateGradient(
  matvec: (v: tf.Tensor) => tf.Tensor,
  b: tf.Tensor,
  options: SolverOptions = {},
): SolverResult {
  return iterateRows(
    matvec,
    b,
    options,
    (init) => ({ ...init, p: tf.clone(init.r), rs: rowDot(init.r, init.r) }),
    (prev) => {
      const { x, r, p, rs, active } = prev;
      const ap = matvec(p);
      const pap = rowDot(p, ap);
      // Frozen rows, and rows whose curvature is not positive (breakdown), take no step.
      const ok = tf.logicalAnd(active, tf.greater(pap, 0));
      const alpha = tf.where(
        ok,
        tf.div(rs, tf.where(ok, pap, tf.onesLike(pap))),
        tf.zerosLike(pap),
      ) as tf.Tensor1D;
      const rNew = tf.sub(r, tf.mul(perRow(alpha, ap), ap));
      const rsNew = rowDot(rNew, rNew);
      const safeRs = tf.where(tf.greater(rs, 0), rs, tf.onesLike(rs));
      const beta = tf.where(ok, tf.div(rsNew, safeRs), tf.zerosLike(rs)) as tf.Tensor1D;
      return {
        x: tf.add(x, tf.mul(perRow(alpha, p), p)),
        r: rNew,
        p: tf.add(rNew, tf.mul(perRow(beta, p), p)),
        rs: tf.where(ok, rsNew, rs) as tf.Tensor1D,
        ok,
        residual: tf.sqrt(rsNew),
      };
    },
  );
}

/** The per-row state every solver carries: iterate, residual, tolerances, activity, iteration counts. */
interface RowState {
  [name: string]: tf.Tensor;
  x: tf.Tensor;
  r: tf.Tensor;
  rhsNorm: tf.Tensor1D;
  tol: tf.Tensor;
  active: tf.Tensor;
  count: tf.Tensor1D;
}

/**
 * The driver of the row solvers: start from x0 (or 0), run `step` (inside a tidy scope) until every
 * row has converged or `maxiter` iterations, and return the solution with per-row statistics. A step
 * returns its new iterate and residual, its own extra state, `ok` (rows that took a step) and the new
 * residual norm; the driver updates activity and counts. Each iteration's tensors are freed.
 */
function iterateRows<S extends RowState>(
  matvec: (v: tf.Tensor) => tf.Tensor,
  b: tf.Tensor,
  options: SolverOptions,
  extend: (init: RowState) => S,
  step: (
    state: S,
  ) => Omit<S, keyof RowState> & { x: tf.Tensor; r: tf.Tensor; ok: tf.Tensor; residual: tf.Tensor },
): SolverResult {
  const rowSize = b.rank === 1 ? 1 : b.size / b.shape[0];
  const rtol = options.rtol ?? 1e-6, atol = options.atol ?? 0;
  const maxiter = options.maxiter ?? rowSize, earlyExit = options.earlyExit ?? true;
  let state = tf.tidy(() => {
    const x = options.x0 ? tf.clone(options.x0) : tf.zerosLike(b);
    const r = options.x0 ? tf.sub(b, matvec(options.x0)) : tf.clone(b);
    const rhsNorm = tf.sqrt(rowDot(b, b));
    const tol = tf.maximum(tf.mul(rhsNorm, rtol), atol);
    const active = tf.greater(tf.sqrt(rowDot(r, r)), tol);
    return extend({ x, r, rhsNorm, tol, active, count: tf.zeros([b.shape[0]]) as tf.Tensor1D });
  });
  let iterations = 0;
  while (iterations < maxiter && stillActive(state.active, earlyExit)) {
    const prev = state;
    state = tf.tidy(() => {
      const { ok, residual, ...next } = step(prev);
      return {
        ...next,
        active: tf.logicalAnd(ok, tf.greater(residual, prev.tol)),
        tol: tf.clone(prev.tol),
        rhsNorm: tf.clone(prev.rhsNorm),
        count: tf.add(prev.count, tf.cast(prev.active, "float32")) as tf.Tensor1D,
      } as unknown as S;
    });
    tf.dispose(Object.values(prev));
    iterations++;
  }
  const residualNorm = tf.tidy(() => tf.sqrt(rowDot(state.r, state.r))) as tf.Tensor1D;
  const { x, rhsNorm, count, ...rest } = state;
  tf.dispose(Object.values(rest));
  return { x, residualNorm, rhsNorm, rowIterations: count, iterations };
}

/** Whether any row is still active (one scalar host read); always true without early exit. */
function stillActive(active: tf.Tensor, earlyExit: boolean): boolean {
  if (!earlyExit) return true;
  const any = tf.any(active);
  const go = any.dataSync()[0];
  any.dispose();
  return Boolean(go);
}

/**
 * Minimal residual (MR) iteration, per row: x ← x + α r with α = ⟨M r, r⟩ / ⟨M r, M r⟩,
 * the step that minimises ‖b − M x‖ along r (one iteration is GMRES(1); k iterations are
 * GMRES(1) restarted k times). Unlike CG it needs neither symmetry nor definiteness of M: the
 * residual never grows. That is what MMPS needs with a learned denoiser, whose Jacobian is only
 * approximately symmetric and can make σ_y² I + σ² A J Aᵀ indefinite, where CG's steps blow up.
 * Converges when M's symmetric part is positive definite. Same options and result as
 * {@link conjugateGradient}.
 *
 * @example
 * ```ts
 * const { x } = minimalResidual((v) => tf.mul(v, 2), b, { maxiter: 3 });
 * ```
 */
export function minimalResidual(
  matvec: (v: tf.Tensor) => tf.Tensor,
  b: tf.Tensor,
  options: SolverOptions = {},
): SolverResult {
  return iterateRows(matvec, b, options, (init) => init, (prev) => {
    const { x, r, active } = prev;
    const mr = matvec(r);
    const mrmr = rowDot(mr, mr);
    const ok = tf.logicalAnd(active, tf.greater(mrmr, 0));
    const alpha = tf.where(
      ok,
      tf.div(rowDot(mr, r), tf.where(ok, mrmr, tf.onesLike(mrmr))),
      tf.zerosLike(mrmr),
    ) as tf.Tensor1D;
    const rNew = tf.sub(r, tf.mul(perRow(alpha, mr), mr));
    return { x: tf.add(x, tf.mul(perRow(alpha, r), r)), r: rNew, ok, residual: tf.sqrt(rowDot(rNew, rNew)) };
  });
}

/** The solvers by the name a parameter gives them. */
export const solvers = { cg: conjugateGradient, mr: minimalResidual } as const;

/** `cg` or `mr`. */
export type SolverName = keyof typeof solvers;
