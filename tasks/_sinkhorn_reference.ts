/**
 * The truth-only half of the Sinkhorn divergence S = OT(U1, Q) − OT(U1, U2): the reference solves OT(U1, U2)
 * between disjoint blocks of the truth (docs/design.md §5). They do not depend on the samples, so a
 * `truth-reference` stage solves them once and every `evaluate` of the same truth reads them (input
 * `truth_reference`) instead of solving them again: 4 of the 12 solves of a default evaluation.
 *
 * The stage says what it is in its metadata, `meta.sinkhorn_reference` = `{ truth, m, reg, maxiter }` (truth:
 * the content key of the truth entry it solved), and writes the solves as the JSON document
 * `sinkhorn_reference` (`{ u1, u2, cost, iterations, converged, marginalError }` per solve: rows [u1, u1 + m)
 * against [u2, u2 + m)). An evaluation uses a solve only when the truth key, m and options are its own, so a
 * reused number is the one it would have solved (JSON keeps a float64 exactly); any solve it does not find it
 * makes itself.
 *
 * @module
 */
import { z } from "zod";
import {
  type OTResult,
  type ReferenceLookup,
  sinkhornLayout,
  type SinkhornOptions,
  sinkhornOT,
} from "../lib/metrics/mod.ts";
import { type InputEntry, type Progress, StageMismatchError } from "../lib/engine/mod.ts";
import { type NDArray, sliceRows } from "../lib/array.ts";

/** The Sinkhorn parameters of `evaluate` and `truth-reference` (the same names and defaults). */
export const sinkhornParams = {
  /** Sinkhorn sample size m (cost m²); clamped to what the data allows. */
  sinkhorn_samples: z.number().int().positive().default(1024),
  sinkhorn_reg: z.number().positive().default(1e-3),
  sinkhorn_maxiter: z.number().int().positive().default(1024),
  /** R: every Sinkhorn divergence and moment error is also reported as `<name>_mean` ± `<name>_se` over R disjoint blocks of m rows (fewer when the data hold fewer; none below 2). */
  subsets: z.number().int().min(0).default(4),
};

/** What a `truth-reference` entry says about itself (`meta.sinkhorn_reference`). */
export interface ReferenceMeta {
  /** Content key of the truth entry. */
  truth: string;
  m: number;
  reg: number;
  maxiter: number;
}

/** One reference solve: truth rows [u1, u1 + m) against [u2, u2 + m). */
export interface ReferenceSolve extends OTResult {
  u1: number;
  u2: number;
}

/**
 * The reference solves of an evaluation of as many samples as true points (the pipelines' posterior samples):
 * {@link sinkhornLayout}'s `references`, each solved once.
 */
export function solveReferences(
  truth: NDArray,
  sinkhornSamples: number,
  subsets: number,
  options: SinkhornOptions,
  progress: Progress,
): { m: number; solves: ReferenceSolve[] } {
  const nt = truth.shape[0];
  const { m, references } = sinkhornLayout(nt, nt, sinkhornSamples, subsets);
  progress.start(references.length, "OT solve", 0, "sinkhorn");
  const solves = references.map(([u1, u2]) => {
    const result = sinkhornOT(sliceRows(truth, u1, u1 + m), sliceRows(truth, u2, u2 + m), options);
    progress.tick(1);
    return { u1, u2, ...result };
  });
  return { m, solves };
}

/**
 * The reference solves of `entry` (a `truth-reference` stage) usable by an evaluation of the truth entry
 * `truthKey` with sample size m and `options`: a lookup, empty (with `mismatch` saying why) when its m or
 * options differ. Throws when the entry is not a reference of that truth (a wiring error in the spec).
 */
export async function referenceLookup(
  entry: InputEntry,
  truthKey: string,
  m: number,
  options: { reg: number; maxiter: number },
): Promise<{ lookup: ReferenceLookup; mismatch?: string }> {
  const meta = entry.meta.sinkhorn_reference as ReferenceMeta | undefined;
  if (!meta) {
    throw new StageMismatchError(
      `truth_reference: stage ${entry.stageId} holds no Sinkhorn reference solves`,
    );
  }
  if (meta.truth !== truthKey) {
    throw new StageMismatchError(
      `truth_reference: stage ${entry.stageId} solved another truth (key ${meta.truth}) than this truth (key ${truthKey})`,
    );
  }
  const want = { m, reg: options.reg, maxiter: options.maxiter };
  const have = { m: meta.m, reg: meta.reg, maxiter: meta.maxiter };
  if (JSON.stringify(want) !== JSON.stringify(have)) {
    return {
      lookup: () => undefined,
      mismatch: `${entry.stageId} solved ${JSON.stringify(have)}, this evaluation needs ${
        JSON.stringify(want)
      }`,
    };
  }
  const solves = new Map<string, OTResult>();
  for (const s of await entry.json<ReferenceSolve[]>("sinkhorn_reference")) {
    solves.set(`${s.u1},${s.u2}`, {
      cost: s.cost,
      iterations: s.iterations,
      converged: s.converged,
      marginalError: s.marginalError,
    });
  }
  return { lookup: (u1, u2) => solves.get(`${u1},${u2}`) };
}
