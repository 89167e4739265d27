/**
 * Gaussian EM run to convergence (docs/design.md §3): iterations of the EM map F (one
 * {@link gaussianEMStep}) until the relative change of the log evidence between successive iterates
 * falls below `tol`, optionally accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3).
 *
 * A SQUAREM iteration from θ₀ takes θ₁ = F(θ₀), θ₂ = F(θ₁), r = θ₁ − θ₀, v = θ₂ − 2θ₁ + θ₀,
 * α = −‖r‖/‖v‖ (at most −1) and the extrapolation θ' = θ₀ − 2α r + α² v on (μ, Σ). It is accepted
 * only when Σ' is symmetric positive definite (smallest eigenvalue at least the EM floor) and its
 * log evidence is at least that of θ₂; otherwise α backtracks towards −1 (where θ' = θ₂, the plain
 * double EM step). So the log evidence of the iterates never decreases, as with plain EM.
 *
 * The iterations are a generator so that a task can checkpoint between them: the state to resume
 * from is the prior, the iteration count and the last iteration's starting evidence ({@link GaussianFitStart}).
 *
 * @module
 */
import { symmetricEigen, symmetrize } from "../linalg/mod.ts";
import type { GaussianPrior } from "./prior.ts";
import type { LinearGaussianObservations } from "./posterior.ts";
import { gaussianEMStep, gaussianLogEvidence } from "./em.ts";

/** Options of {@link gaussianEMIterations}. */
export interface GaussianFitOptions {
  /** Expected statistics ("exact", default) or one posterior sample each ("sample", Monte-Carlo EM). */
  mode?: "exact" | "sample";
  /**
   * "squarem" (default in exact mode) or "none". Monte-Carlo EM's map is random, so extrapolating it
   * is no fixed-point acceleration: "sample" mode requires "none" (its default).
   */
  acceleration?: "squarem" | "none";
  /** Stop once |L_k − L_{k−1}| / |L_k| < tol for the log evidence L of successive iterates (default 1e-7). */
  tol?: number;
  /** Stop after this many iterations at the latest (default 2000). */
  maxIterations?: number;
  /** Seed of "sample" mode: iteration k (1-based) draws with seed + k − 1. */
  seed?: number;
  /** Floor on Σ's eigenvalues (default 1e-6), as in {@link gaussianEMStep}. */
  minEigenvalue?: number;
}

/** Where a (resumed) fit starts. */
export interface GaussianFitStart {
  prior: GaussianPrior;
  /** Iterations already done (0 for a fresh fit). */
  iteration: number;
  /** The starting log evidence of the last iteration done (null for a fresh fit). */
  logEvidence: number | null;
}

/** One iteration of {@link gaussianEMIterations}. */
export interface GaussianFitIteration {
  /** Iterations done, this one included (1-based). */
  iteration: number;
  /** The prior after this iteration. */
  prior: GaussianPrior;
  /** Mean log evidence per observation of the prior this iteration started from. */
  logEvidence: number;
  /** |logEvidence − the previous iteration's| / |logEvidence|; null on a fit's first iteration. */
  relativeChange: number | null;
  /** Evaluations of the EM map in this iteration (1 plain, 2 SQUAREM). */
  emSteps: number;
  /** Whether a SQUAREM extrapolation (α < −1) was accepted. */
  extrapolated: boolean;
  /** Largest change of a mean entry over this iteration. */
  meanChange: number;
  /** Largest change of a covariance entry over this iteration. */
  covChange: number;
  /** relativeChange < tol: the fit stops after this iteration. */
  converged: boolean;
}

/**
 * The EM iterations from `start` (a fresh fit starts from N(0, I), `standardGaussianPrior(D)`) until
 * converged or `maxIterations`; the last one yielded says whether it converged.
 *
 * @example
 * ```ts
 * let last;
 * for (const it of gaussianEMIterations(obs, { prior: standardGaussianPrior(5), iteration: 0, logEvidence: null })) last = it;
 * console.log(last.iteration, last.converged, gaussianLogEvidence(last.prior, obs));
 * ```
 */
export function* gaussianEMIterations(
  obs: LinearGaussianObservations,
  start: GaussianFitStart,
  options: GaussianFitOptions = {},
): Generator<GaussianFitIteration> {
  const mode = options.mode ?? "exact";
  const acceleration = options.acceleration ?? (mode === "exact" ? "squarem" : "none");
  if (mode === "sample" && acceleration === "squarem") {
    throw new Error('Gaussian EM: acceleration "squarem" needs mode "exact" (Monte-Carlo EM is random)');
  }
  const tol = options.tol ?? 1e-7, maxIterations = options.maxIterations ?? 2000;
  const floor = options.minEigenvalue ?? 1e-6;
  let { prior, iteration, logEvidence: previous } = start;
  while (iteration < maxIterations) {
    iteration++;
    const step = (p: GaussianPrior) =>
      gaussianEMStep(p, obs, { mode, seed: (options.seed ?? 0) + iteration - 1, minEigenvalue: floor });
    const first = step(prior);
    const logEvidence = first.stats.logEvidence;
    let next = first.prior, emSteps = 1, extrapolated = false;
    if (acceleration === "squarem") {
      const second = step(first.prior);
      emSteps = 2;
      const candidate = squaremExtrapolation(prior, first.prior, second.prior, obs, floor);
      next = candidate ?? second.prior;
      extrapolated = candidate !== null;
    }
    const relativeChange = previous === null
      ? null
      : Math.abs(logEvidence - previous) / Math.abs(logEvidence);
    const converged = relativeChange !== null && relativeChange < tol;
    yield {
      iteration,
      prior: next,
      logEvidence,
      relativeChange,
      emSteps,
      extrapolated,
      meanChange: maxAbsDifference(prior.mean, next.mean),
      covChange: maxAbsDifference(prior.cov.data, next.cov.data),
      converged,
    };
    if (converged) return;
    prior = next;
    previous = logEvidence;
  }
}

/**
 * SQUAREM's extrapolation from θ₀ through θ₁ = F(θ₀), θ₂ = F(θ₁), backtracking α towards −1 until Σ
 * is positive definite (eigenvalues ≥ `floor`) and the log evidence is no less than θ₂'s; null when
 * no α < −1 qualifies (then θ₂ is the step).
 */
function squaremExtrapolation(
  t0: GaussianPrior,
  t1: GaussianPrior,
  t2: GaussianPrior,
  obs: LinearGaussianObservations,
  floor: number,
): GaussianPrior | null {
  const x0 = flatten(t0), x1 = flatten(t1), x2 = flatten(t2);
  const r = x1.map((v, i) => v - x0[i]);
  const v = x2.map((w, i) => w - 2 * x1[i] + x0[i]);
  const normR = Math.hypot(...r), normV = Math.hypot(...v);
  if (!(normV > 0) || !(normR > 0)) return null;
  let alpha = -normR / normV;
  let evidence2: number | null = null;
  // α halves its distance to −1 per retry; below 1.01 the step is the plain double step anyway.
  for (let attempt = 0; attempt < 20 && alpha < -1.01; attempt++, alpha = (alpha - 1) / 2) {
    const candidate = unflatten(
      x0.map((w, i) => w - 2 * alpha * r[i] + alpha * alpha * v[i]),
      t0.mean.length,
    );
    if (!(Math.min(...symmetricEigen(candidate.cov).values) >= floor)) continue;
    evidence2 ??= gaussianLogEvidence(t2, obs);
    if (gaussianLogEvidence(candidate, obs) >= evidence2) return candidate;
  }
  return null;
}

/** (μ, Σ) as one vector [μ, vec Σ]. */
function flatten(p: GaussianPrior): Float64Array {
  const out = new Float64Array(p.mean.length + p.cov.data.length);
  out.set(p.mean);
  out.set(p.cov.data, p.mean.length);
  return out;
}

/** The inverse of {@link flatten}, Σ symmetrised. */
function unflatten(x: Float64Array, d: number): GaussianPrior {
  return { mean: x.slice(0, d), cov: symmetrize({ rows: d, cols: d, data: x.slice(d) }) };
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
