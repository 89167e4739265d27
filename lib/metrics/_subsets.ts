/**
 * Error bars for the evaluation (docs/design.md §5): a Sinkhorn divergence or a moment error on m points is one
 * draw of a noisy statistic, so it is computed on R disjoint blocks of m rows of the truth and of the samples,
 * and reported as the mean over blocks with its standard error sd / √R.
 *
 * Block r is rows [r·m, (r+1)·m). For subset r, U1 = truth block r, U2 = truth block r − 1 (mod R: the
 * reference set, disjoint from U1), and
 * - paired: Q = samples block r, the posterior samples of the same observations as U1 (the papers' choice);
 * - independent: Q = samples block r + 1 (mod R), samples of other observations.
 * S_r = OT(U1, Q) − OT(U1, U2); the reference solve is shared by both. With R·m = N_truth, subset 0 is the
 * papers' single number (U1 = truth[:m], U2 = truth[−m:], Q = samples[:m]).
 *
 * The reference solves OT(U1, U2) depend on the truth alone: {@link sinkhornLayout} names them (as row offsets
 * of U1 and U2) so that they can be solved once and handed to every evaluation of the same truth
 * ({@link ReferenceLookup}); a solve is a pure function of its rows and options, so a reused one is the same
 * number bit for bit.
 *
 * Private to lib/metrics; import from `mod.ts`.
 *
 * @module
 */
import { type NDArray, sliceRows } from "../array.ts";
import { type MomentErrors, momentErrors } from "./_moments.ts";
import { type OTResult, type SinkhornOptions, sinkhornOT } from "./_sinkhorn.ts";

/** A statistic over disjoint subsets: its values, their mean and the standard error of the mean. */
export interface SubsetStatistic {
  values: number[];
  mean: number;
  /** sd / √R with the unbiased sd; NaN for fewer than two subsets. */
  se: number;
}

/**
 * Mean and standard error of the mean of `values`.
 *
 * @example
 * ```ts
 * meanAndStandardError([1, 2, 3]); // { values: [1, 2, 3], mean: 2, se: 0.577… }
 * ```
 */
export function meanAndStandardError(values: number[]): SubsetStatistic {
  const r = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / r;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (r - 1);
  return { values, mean, se: r > 1 ? Math.sqrt(variance / r) : NaN };
}

/**
 * How many disjoint blocks of m rows fit in both the truth and the samples, at most `wanted`.
 *
 * @example
 * ```ts
 * subsetCount(4096, 4096, 1024, 4); // 4
 * ```
 */
export function subsetCount(truthRows: number, sampleRows: number, m: number, wanted: number): number {
  return Math.max(0, Math.min(wanted, Math.floor(truthRows / m), Math.floor(sampleRows / m)));
}

/**
 * Which Sinkhorn solves an evaluation of `sampleRows` samples against `truthRows` true points makes:
 * m = min(`sinkhornSamples`, ⌊N_truth/2⌋, N), the subset count R (0 when fewer than 2 blocks fit), whether
 * subset 0 is the papers' configuration (`reuse`: R·m = N_truth), and the truth-only reference solves
 * `references` as row offsets `[u1, u2]` (OT of truth rows [u1, u1 + m) against [u2, u2 + m)): one per
 * subset (block r against block r − 1 mod R), then the papers' (truth[:m] against truth[−m:]) unless reused.
 *
 * @example
 * ```ts
 * sinkhornLayout(4096, 4096, 1024, 4);
 * // { m: 1024, subsets: 4, reuse: true, references: [[0, 3072], [1024, 0], [2048, 1024], [3072, 2048]] }
 * ```
 */
export function sinkhornLayout(
  truthRows: number,
  sampleRows: number,
  sinkhornSamples: number,
  wantedSubsets: number,
): { m: number; subsets: number; reuse: boolean; references: [number, number][] } {
  const m = Math.min(sinkhornSamples, Math.floor(truthRows / 2), sampleRows);
  const count = subsetCount(truthRows, sampleRows, m, wantedSubsets);
  const subsets = count >= 2 ? count : 0;
  const reuse = subsets * m === truthRows;
  const references: [number, number][] = Array.from(
    { length: subsets },
    (_, r) => [r * m, ((r - 1 + subsets) % subsets) * m],
  );
  if (!reuse) references.push([0, truthRows - m]);
  return { m, subsets, reuse, references };
}

/**
 * Reference solves already made: the OT of truth rows [u1, u1 + m) against [u2, u2 + m) with the options in
 * use, or undefined (then the caller solves it).
 */
export type ReferenceLookup = (u1: number, u2: number) => OTResult | undefined;

/** Sinkhorn divergences over subsets, paired and independent (see the module's description). */
export interface SubsetSinkhorn {
  paired: SubsetStatistic;
  independent: SubsetStatistic;
  /** Every OT solve converged. */
  converged: boolean;
}

/** Which solve of {@link subsetSinkhorn} just finished. */
export interface SubsetSolve {
  subset: number;
  kind: "reference" | "paired" | "independent";
  result: OTResult;
  /** The solve came from the {@link ReferenceLookup} (not solved here). */
  reused?: boolean;
}

/**
 * Sinkhorn divergences of `samples` against `truth` (both `[N, D]`) over R disjoint blocks of m rows
 * (R ≥ 2, R·m ≤ both row counts). `onSolve` sees each of the 3R OT solves as it finishes; `references`
 * supplies reference solves made elsewhere (on the same truth, with the same m and options), which are not
 * solved again.
 *
 * @example
 * ```ts
 * const s = subsetSinkhorn(truth, samples, 1024, 4); // s.paired.mean ± s.paired.se
 * ```
 */
export function subsetSinkhorn(
  truth: NDArray,
  samples: NDArray,
  m: number,
  subsets: number,
  options: SinkhornOptions = {},
  onSolve: (solve: SubsetSolve) => void = () => {},
  references: ReferenceLookup = () => undefined,
): SubsetSinkhorn {
  if (subsets < 2 || subsets * m > truth.shape[0] || subsets * m > samples.shape[0]) {
    throw new Error(
      `subset Sinkhorn: ${subsets} blocks of ${m} rows need R ≥ 2 and ${subsets * m} rows, have ${
        truth
          .shape[0]
      } (truth) and ${samples.shape[0]} (samples)`,
    );
  }
  const block = (a: NDArray, r: number) => {
    const b = (r + subsets) % subsets;
    return sliceRows(a, b * m, (b + 1) * m);
  };
  const paired: number[] = [], independent: number[] = [];
  let converged = true;
  const solve = (subset: number, kind: SubsetSolve["kind"], u: NDArray, v: NDArray) => {
    const result = sinkhornOT(u, v, options);
    converged &&= result.converged;
    onSolve({ subset, kind, result });
    return result.cost;
  };
  for (let r = 0; r < subsets; r++) {
    const u1 = block(truth, r);
    const known = references(r * m, ((r - 1 + subsets) % subsets) * m);
    if (known) {
      converged &&= known.converged;
      onSolve({ subset: r, kind: "reference", result: known, reused: true });
    }
    const reference = known ? known.cost : solve(r, "reference", u1, block(truth, r - 1));
    paired.push(solve(r, "paired", u1, block(samples, r)) - reference);
    independent.push(solve(r, "independent", u1, block(samples, r + 1)) - reference);
  }
  return { paired: meanAndStandardError(paired), independent: meanAndStandardError(independent), converged };
}

/**
 * Moment errors of the samples against the truth over R disjoint paired blocks of m rows.
 *
 * @example
 * ```ts
 * const e = subsetMomentErrors(truth, samples, 1024, 4); // e.meanError.mean ± e.meanError.se
 * ```
 */
export function subsetMomentErrors(
  truth: NDArray,
  samples: NDArray,
  m: number,
  subsets: number,
): Record<keyof MomentErrors, SubsetStatistic> {
  const errors = Array.from(
    { length: subsets },
    (_, r) => momentErrors(sliceRows(samples, r * m, (r + 1) * m), sliceRows(truth, r * m, (r + 1) * m)),
  );
  const stat = (key: keyof MomentErrors) => meanAndStandardError(errors.map((e) => e[key]));
  return { meanError: stat("meanError"), covError: stat("covError"), covRelError: stat("covRelError") };
}
