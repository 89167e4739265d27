/**
 * The variance-exploding noise schedule of docs/design.md §2: σ(t) = exp(log a + t (log b − log a)), t ∈ [0, 1],
 * and the time grids the samplers walk.
 *
 * @module
 */

/** A VE schedule σ(t) between `sigmaMin` = σ(0) and `sigmaMax` = σ(1). */
export interface VESchedule {
  sigmaMin: number;
  sigmaMax: number;
}

/**
 * The VE schedule; defaults a = 1e-3, b = 10 (vectors). Use b = 100 for images.
 *
 * @example
 * ```ts
 * const s = veSchedule(); // {sigmaMin: 1e-3, sigmaMax: 10}
 * const images = veSchedule(1e-3, 100);
 * ```
 */
export function veSchedule(sigmaMin = 1e-3, sigmaMax = 10): VESchedule {
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new Error(`bad VE schedule [${sigmaMin}, ${sigmaMax}]`);
  return { sigmaMin, sigmaMax };
}

/**
 * σ(t) = exp(log a + t (log b − log a)).
 *
 * @example
 * ```ts
 * sigmaAt(veSchedule(), 1); // 10
 * ```
 */
export function sigmaAt(s: VESchedule, t: number): number {
  return Math.exp(Math.log(s.sigmaMin) + t * (Math.log(s.sigmaMax) - Math.log(s.sigmaMin)));
}

/**
 * The sampler grid σ_i = σ(t_i) for t_i = 1 − i/steps, i = 0 … steps: `steps + 1` decreasing values from
 * σ(1) to σ(0). A sampler takes `steps` steps between consecutive values and finishes with one denoise at
 * the last one.
 *
 * @example
 * ```ts
 * const sigmas = sigmaGrid(veSchedule(), 64); // Float64Array(65), sigmas[0] = 10, sigmas[64] = 1e-3
 * ```
 */
export function sigmaGrid(s: VESchedule, steps: number): Float64Array {
  if (!(Number.isInteger(steps) && steps >= 1)) {
    throw new Error(`sampler steps must be an integer ≥ 1, got ${steps}`);
  }
  const out = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) out[i] = sigmaAt(s, 1 - i / steps);
  return out;
}
