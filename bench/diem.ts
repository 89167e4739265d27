/**
 * DiEM benchmarks: the default pipeline end to end from an empty store (wall time and the
 * Sinkhorn divergence of its last lap against the Gaussian start, means over the evaluation's subsets),
 * and one MMPS sampler step.
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { initBackend, splitRows, WorkerPool } from "../lib/tensor/mod.ts";
import { exportParams, MLP } from "../lib/nn/mod.ts";
import { operatorFamily } from "../lib/operators/mod.ts";
import { type PosteriorShardInput, workerJobs } from "../lib/sampling/mod.ts";
import { Rng } from "../lib/random.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Run the CLI; returns stdout. */
async function cli(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--config=${ROOT}/deno.json`, `${ROOT}/cli.ts`, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { INIT_CWD: cwd },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`pipeline ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/**
 * One run of a spec (with extra `run` arguments, e.g. `--until ID`) from an empty store: wall seconds and every
 * stage's metrics. The store is a temporary directory, removed after, unless `DIEM_BENCH_STORE` names one to keep.
 */
export async function runSpecFromScratch(
  spec: string,
  ...runArgs: string[]
): Promise<{ seconds: number; metrics: Record<string, Record<string, number>> }> {
  // DIEM_BENCH_STORE=DIR keeps the run's store there (to read its report); it must not exist yet.
  const keep = Deno.env.get("DIEM_BENCH_STORE");
  if (keep) await Deno.mkdir(keep, { recursive: false });
  const store = keep ? await Deno.realPath(keep) : await Deno.makeTempDir({ prefix: "bench-diem-" });
  try {
    const t0 = performance.now();
    await cli(ROOT, "run", "-f", `${ROOT}/${spec}`, "--set", `store=${store}`, ...runArgs);
    const seconds = (performance.now() - t0) / 1000;
    const metrics = JSON.parse(
      await cli(ROOT, "metrics", "--json", "-f", `${ROOT}/${spec}`, "--set", `store=${store}`),
    );
    return { seconds, metrics };
  } finally {
    if (!keep) await Deno.remove(store, { recursive: true });
  }
}

/** The last lap's metrics of loop `loop`. */
export function lastLap(
  metrics: Record<string, Record<string, number>>,
  loop: string,
  stage: string,
): Record<string, number> {
  const laps = Object.keys(metrics).filter((id) => id.startsWith(`${loop}[`) && id.endsWith(`].${stage}`));
  const last = laps.sort((a, b) =>
    Number(a.slice(loop.length + 1, a.indexOf("]"))) - Number(b.slice(loop.length + 1, b.indexOf("]")))
  ).at(-1);
  if (!last) throw new Error(`no ${loop}[*].${stage} metrics`);
  return metrics[last];
}

let defaultRun: Promise<{ seconds: number; metrics: Record<string, Record<string, number>> }> | null = null;
const runDefault = () => (defaultRun ??= runSpecFromScratch("pipeline.yaml"));

/** One MMPS sampler step for `rows` observations (projection m = 2, D = 5, the exact solve), over the Workers. */
async function mmpsStepMs(rows: number): Promise<number> {
  await initBackend("wasm");
  const net = new MLP({ features: 5 }, 0);
  const weights = await exportParams(net);
  const config = net.config;
  net.dispose();
  const x = new Float32Array(rows * 5);
  Rng.fromSeed(1).fillNormal(x);
  const family = operatorFamily("projection", { xShape: [5], m: 2 });
  const { y, params } = family.corrupt({ shape: [rows, 5], data: x }, 2, 0.01);
  const pool = new WorkerPool({});
  try {
    const shards = (steps: number) =>
      splitRows(rows, pool.size || 1).map(([a, b]): PosteriorShardInput => ({
        prior: { kind: "network", config, weights, sigmaData: 1 },
        sigmaMin: 1e-3,
        sigmaMax: 10,
        observations: {
          kind: "projection",
          config: { xShape: [5], m: 2 },
          params: family.sliceParams(params, a, b),
          y: { shape: [b - a, 2], data: y.data.slice(a * 2, b * 2) },
          sigmaY: 0.01,
        },
        xShape: [5],
        seed: 3,
        firstRow: a,
        sampler: "ddpm",
        steps,
        covariance: "mmps",
        // auto: the exact path for m = 2; maxiter 1 applies when it falls back to cg.
        solver: "auto",
        solverMaxiter: 1,
        batchSize: b - a,
      }));
    const time = async (steps: number) => {
      const t0 = performance.now();
      await pool.run(workerJobs.samplePosteriorShard, shards(steps));
      return performance.now() - t0;
    };
    await time(2); // warm-up: Worker start, module load, wasm init
    // The marginal cost of 8 more steps: excludes set-up and the final denoise.
    return (await time(16) - await time(8)) / 8;
  } finally {
    pool.close();
  }
}

/** The DiEM benchmarks. */
export const benchmarks: Benchmark[] = [
  { name: "diem.default.wall_s", unit: "s", reps: 1, measure: async () => (await runDefault()).seconds },
  {
    name: "diem.default.sinkhorn_final",
    unit: "",
    reps: 1,
    measure: async () => lastLap((await runDefault()).metrics, "em", "evaluate").sinkhorn_mean,
  },
  {
    name: "diem.default.sinkhorn_gaussian",
    unit: "",
    reps: 1,
    measure: async () => (await runDefault()).metrics.gauss_evaluate.sinkhorn_mean,
  },
  { name: "mmps.step_ms", unit: "ms", reps: 3, measure: () => mmpsStepMs(16384) },
];
