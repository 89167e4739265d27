/**
 * Image benchmarks: `pipeline-mnist.yaml` (DiEM and DiffEM on 75 %-masked MNIST) end to end from an empty
 * store: its wall time, the Fréchet distances of the posterior samples of the Gaussian start, of each method's
 * last lap and of the oracle (means over the evaluation's subsets), and the posterior-mean PSNR of the start and
 * of each method's last lap; the FD of unconditional samples of DiEM's last prior, of the
 * unconditional model distilled from DiffEM's last samples, and of the oracle.
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { lastLap, runSpecFromScratch } from "./diem.ts";

type Run = { seconds: number; metrics: Record<string, Record<string, number>> };

let mnistRun: Promise<Run> | null = null;
const runMnist = () => (mnistRun ??= runSpecFromScratch("pipeline-mnist.yaml"));

/** A benchmark reading one figure of the MNIST run. */
function figure(name: string, unit: string, read: (run: Run) => number): Benchmark {
  return { name: `images.mnist.${name}`, unit, reps: 1, measure: async () => read(await runMnist()) };
}

/** The image benchmarks. */
export const benchmarks: Benchmark[] = [
  figure("wall_s", "s", (r) => r.seconds),
  figure("fd_gaussian", "", (r) => r.metrics.gauss_evaluate.fd_mean),
  figure("fd_final_diem", "", (r) => lastLap(r.metrics, "diem", "evaluate").fd_mean),
  figure("fd_final_diffem", "", (r) => lastLap(r.metrics, "diffem", "evaluate").fd_mean),
  figure("fd_oracle", "", (r) => r.metrics.oracle_evaluate.fd_mean),
  figure("psnr_gaussian", "dB", (r) => r.metrics.gauss_evaluate.psnr_mean),
  figure("psnr_final_diem", "dB", (r) => lastLap(r.metrics, "diem", "evaluate").psnr_mean),
  figure("psnr_final_diffem", "dB", (r) => lastLap(r.metrics, "diffem", "evaluate").psnr_mean),
  figure("psnr_oracle", "dB", (r) => r.metrics.oracle_evaluate.psnr_mean),
  // Unconditional samples (256): the FD of all of them against all 2048 reference digits.
  figure("fd_prior_diem", "", (r) => r.metrics.diem_prior_evaluate.fd),
  figure("fd_prior_diffem", "", (r) => r.metrics.diffem_prior_evaluate.fd),
  figure("fd_prior_oracle", "", (r) => r.metrics.oracle_prior_evaluate.fd),
  figure("evaluator_accuracy", "", (r) => r.metrics.evaluator.test_accuracy),
];
