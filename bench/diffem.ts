/**
 * DiffEM benchmarks: the comparison spec (`pipeline-compare.yaml`: DiEM and DiffEM on the same observations
 * from the same Gaussian start) run once from an empty store; one run feeds every figure.
 *
 * - `diffem.compare.wall_s`: wall time of the whole comparison (both loops, shared start, report);
 * - `diffem.compare.sinkhorn_final`, `diem.compare.sinkhorn_final`: the Sinkhorn divergence of each loop's
 *   last lap (lower is better; the mean over the evaluation's subsets), with the same evaluation settings;
 * - `diffem.compare.sinkhorn_gaussian`: the Gaussian start both loops begin from, for scale;
 * - `gaussian.compare.iterations`, `gaussian.compare.log_evidence`: that start's EM fit (iterations to
 *   convergence, log evidence per observation), from the comparison's run, or a run up to `gauss` alone.
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { lastLap, runSpecFromScratch } from "./diem.ts";

let comparison: ReturnType<typeof runSpecFromScratch> | null = null;
/** The comparison run, started by the first benchmark that needs it and shared by the others. */
const runComparison = () => (comparison ??= runSpecFromScratch("pipeline-compare.yaml"));
let gaussianStart: ReturnType<typeof runSpecFromScratch> | null = null;
/**
 * The comparison spec's Gaussian fit: the whole comparison's when it ran in this process (its `gauss` is the
 * same stage; a second run would also find DIEM_BENCH_STORE taken), else a run up to `gauss` alone.
 */
const runGaussianStart = () =>
  comparison ?? (gaussianStart ??= runSpecFromScratch("pipeline-compare.yaml", "--until", "gauss"));

/** The DiffEM benchmarks. */
export const benchmarks: Benchmark[] = [
  { name: "diffem.compare.wall_s", unit: "s", reps: 1, measure: async () => (await runComparison()).seconds },
  {
    name: "diffem.compare.sinkhorn_final",
    unit: "",
    reps: 1,
    measure: async () => lastLap((await runComparison()).metrics, "diffem", "evaluate").sinkhorn_mean,
  },
  {
    name: "diem.compare.sinkhorn_final",
    unit: "",
    reps: 1,
    measure: async () => lastLap((await runComparison()).metrics, "diem", "evaluate").sinkhorn_mean,
  },
  {
    name: "diffem.compare.sinkhorn_gaussian",
    unit: "",
    reps: 1,
    measure: async () => (await runComparison()).metrics.gauss_evaluate.sinkhorn_mean,
  },
  {
    name: "gaussian.compare.iterations",
    unit: "",
    reps: 1,
    measure: async () => (await runGaussianStart()).metrics.gauss.iterations,
  },
  {
    name: "gaussian.compare.log_evidence",
    unit: "",
    reps: 1,
    measure: async () => (await runGaussianStart()).metrics.gauss.log_evidence,
  },
];
