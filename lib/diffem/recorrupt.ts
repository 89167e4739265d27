/**
 * DiffEM's M-step data (docs/design.md §4): the current posterior samples, each corrupted afresh by the
 * observations' own operator family and noise, paired with the conditions c' = encode(y', A') the
 * conditional model learns from.
 *
 * @module
 */
import { type NDArray, numel } from "../array.ts";
import { observedEntries, type OperatorFamily, type OperatorParams } from "../operators/mod.ts";
import { encodeCondition } from "./condition.ts";

/**
 * DiffEM's M-step training set: the samples, re-corrupted, with their conditions.
 *
 * @example
 * ```ts
 * const { x, conditions }: RecorruptedSet = recorrupt(family, samples, 0.01, seed);
 * ```
 */
export interface RecorruptedSet {
  /** The samples, repeated `copies` times (copy k of row i at row k·N + i), `[copies·N, ...xShape]`. */
  x: NDArray<Float32Array>;
  /** Fresh observations y'_i = A'_i x_i + σ_y ε'_i, `[copies·N, ...yShape]`. */
  y: NDArray<Float32Array>;
  /** The fresh operator parameters A'_i. */
  params: OperatorParams;
  /** c'_i = encode(y'_i, A'_i), `[copies·N, features]`. */
  conditions: NDArray<Float32Array>;
}

/**
 * Re-corrupt samples for DiffEM's M-step: each row draws FRESH operator parameters and noise from `family`
 * (the observations' own family and σ_y, never their observed A_i), from the row streams of `seed`; with
 * `copies` > 1, each sample is corrupted that many times independently (more pairs per sample).
 *
 * @example
 * ```ts
 * const set = recorrupt(obs.family, samples, obs.sigmaY, deriveSeed(ctx.seed, "recorrupt"));
 * await trainDenoiser({ net, data: set.x.data, conditions: set.conditions.data, ... });
 * ```
 */
export function recorrupt(
  family: OperatorFamily,
  x: NDArray,
  sigmaY: number,
  seed: number,
  copies = 1,
): RecorruptedSet {
  if (!Number.isInteger(copies) || copies < 1) {
    throw new Error(`recorrupt: copies must be ≥ 1, got ${copies}`);
  }
  const n = x.shape[0], w = numel(family.xShape);
  if (x.data.length !== n * w) {
    throw new Error(`recorrupt: samples have shape [${x.shape}], expected [N, ${family.xShape}]`);
  }
  const data = new Float32Array(copies * n * w);
  for (let k = 0; k < copies; k++) data.set(x.data, k * n * w);
  const xs = { shape: [copies * n, ...family.xShape], data };
  const { y, params } = family.corrupt(xs, seed, sigmaY);
  return { x: xs, y, params, conditions: encodeCondition(family, params, y) };
}

/**
 * How the re-corrupted set relates to the observations: the fraction of rows whose operator parameters
 * differ from those observed for the same row (`rows[i]` is row i's observation, or null when unknown),
 * and the RMS of y' − A' x over the observed entries, divided by σ_y.
 *
 * @example
 * ```ts
 * const { freshFraction, residualOverSigma } = recorruptionStats(obs, set, kept.rows);
 * ```
 */
export function recorruptionStats(
  obs: { family: OperatorFamily; params: OperatorParams; sigmaY: number },
  set: RecorruptedSet,
  rows: Int32Array | null,
): { freshFraction: number | null; residualOverSigma: number } {
  const family = obs.family;
  const ax = family.applyHost(set.x, set.params).data;
  let sq = 0, count = 0;
  const observed = observedEntries(family, set.params, set.y.shape[0]);
  for (let i = 0; i < ax.length; i++) {
    if (observed && !observed[i]) continue; // unobserved entries of y are 0, with no noise
    sq += (set.y.data[i] - ax[i]) ** 2;
    count++;
  }
  const residualOverSigma = Math.sqrt(sq / Math.max(1, count)) / obs.sigmaY;
  if (!rows || family.perObservation.length === 0) return { freshFraction: null, residualOverSigma };
  const n = set.x.shape[0];
  let fresh = 0;
  for (let r = 0; r < n; r++) {
    const source = rows[r % rows.length];
    const mine: OperatorParams = family.sliceParams(set.params, r, r + 1);
    const observed: OperatorParams = family.sliceParams(obs.params, source, source + 1);
    const same = family.perObservation.every((name) => {
      const a = mine[name].data, b = observed[name].data;
      return a.length === b.length && a.every((v, j) => v === b[j]);
    });
    if (!same) fresh++;
  }
  return { freshFraction: fresh / n, residualOverSigma };
}
