/**
 * Benchmarks of the numerics core (issue #3), on the `wasm` backend:
 *
 * - `core.matmul_gflops`: 1024² float32 matmul throughput, one product at a time on the main thread, as PyTorch's
 *   twin measures it (the BLAS path threads each product over every core; the wasm fallback runs one thread);
 *   `core.matmul_gflops_workers` the same work as independent products in one Worker per core (how sampling
 *   shards run), for comparison.
 * - `core.mlp_train_step_ms`: the MLP of docs/design.md §2 (5 + 64 → 256×3 → 5), batch 1024, forward + backward + Adam.
 * - `core.ddpm_step_ms_16384`: one DDPM step of that MLP's EDM denoiser for 16384 vectors, rows sharded over one
 *   Worker per core (how sampling runs in the product); `core.ddpm_step_ms_16384_1thread` on one thread.
 * - `core.unet_train_step_ms`: U-Net 28×28×1, batch 64, channels 32/64/64, forward + backward + Adam.
 *
 * The shard functions below run inside Workers (`lib/tensor/pool.ts` imports this module by URL).
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { defineWorkerJobs, initBackend, tf, WorkerPool } from "../lib/tensor/mod.ts";
import { variableGrads } from "../lib/tensor/gradients.ts";
import { MLP, type NoiseConditionedNet, UNet } from "../lib/nn/mod.ts";
import {
  drawTrainingNoise,
  dsmLoss,
  edmDenoiser,
  initialSample,
  sampleDDPM,
  sigmaGrid,
  veSchedule,
} from "../lib/diffusion/mod.ts";
import { Adam, constantLR } from "../lib/training/mod.ts";
import { Rng, RowStreams } from "../lib/random.ts";

const cores = () => navigator.hardwareConcurrency ?? 1;

/** Shard: `reps` products of two 1024² matrices; returns the seconds spent. */
export async function matmulShard(reps: number): Promise<number> {
  const a = tf.randomNormal([1024, 1024]), b = tf.randomNormal([1024, 1024]);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }
  const dt = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  return dt;
}

let samplerNet: MLP | null = null;

/** Shard: `steps` DDPM steps (no final denoise) of the MLP denoiser on rows [first, first + count). */
export function ddpmShard(input: { first: number; count: number; steps: number }): number {
  samplerNet ??= new MLP({ features: 5 }, 0);
  const rows = new RowStreams(0, input.first, input.count);
  const sigmas = sigmaGrid(veSchedule(), 64).slice(0, input.steps + 1);
  const x = initialSample(rows, [input.count, 5], sigmas[0]);
  const t0 = performance.now();
  // sampleDDPM ends with a denoise at the last sigma: steps + 1 network calls; the step count is what we time.
  const y = sampleDDPM(edmDenoiser(samplerNet), x, sigmas, rows);
  y.dataSync();
  const dt = performance.now() - t0;
  tf.dispose([x, y]);
  return dt;
}

/** The shard functions above, for the Workers of the parallel benchmarks. */
export const workerJobs = defineWorkerJobs(import.meta.url, { matmulShard, ddpmShard });

/** A training-step closure for `net` on random data of its event shape; returns the step function. */
export function trainStep(net: NoiseConditionedNet, batch: number): () => Promise<void> {
  const event = [...net.eventShape];
  const size = event.reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * size);
  Rng.fromSeed(0, "bench-data").fillNormal(data);
  const x = tf.tensor(data, [batch, ...event]);
  const denoiser = edmDenoiser(net);
  const adam = new Adam(net.params(), { lr: constantLR(1e-4) });
  const vars = Object.values(net.params());
  let step = 0;
  return async () => {
    const { sigma, z } = drawTrainingNoise(Rng.fromSeed(0, "bench", step++), veSchedule(), batch, size);
    const loss = tf.tidy(() => {
      const { value, grads } = variableGrads(
        () => dsmLoss(denoiser, x, tf.tensor1d(sigma), tf.tensor(z, [batch, ...event])),
        vars,
      );
      adam.apply(grads);
      return value;
    });
    await loss.data();
    loss.dispose();
  };
}

async function timeMs(f: () => Promise<void>, reps: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  return (performance.now() - t0) / reps;
}

/** The core benchmarks. */
export const benchmarks: Benchmark[] = [
  {
    name: "core.matmul_gflops",
    unit: "GFLOP/s",
    reps: 5,
    setup: async () => {
      await initBackend("wasm");
      await matmulShard(2);
    },
    measure: async () => (2 * 1024 ** 3 * 10) / (await matmulShard(10)) / 1e9,
  },
  {
    name: "core.matmul_gflops_workers",
    unit: "GFLOP/s",
    reps: 5,
    setup: async () => {
      const pool = new WorkerPool({ workers: cores(), backend: "wasm" });
      await pool.run(workerJobs.matmulShard, new Array(cores()).fill(2)); // start Workers, compile wasm
      return pool;
    },
    measure: async (prepared) => {
      const pool = prepared as WorkerPool;
      const reps = 10;
      const t0 = performance.now();
      await pool.run(workerJobs.matmulShard, new Array(pool.size).fill(reps));
      const seconds = (performance.now() - t0) / 1000;
      return (2 * 1024 ** 3 * reps * pool.size) / seconds / 1e9;
    },
    teardown: (prepared) => Promise.resolve((prepared as WorkerPool).close()),
  },
  {
    name: "core.mlp_train_step_ms",
    unit: "ms",
    reps: 7,
    setup: async () => {
      await initBackend("wasm");
      const step = trainStep(new MLP({ features: 5 }, 0), 1024);
      for (let i = 0; i < 3; i++) await step(); // Adam slots, kernel setup
      return step;
    },
    measure: (prepared) => timeMs(prepared as () => Promise<void>, 10),
  },
  {
    name: "core.ddpm_step_ms_16384",
    unit: "ms",
    reps: 5,
    setup: async () => {
      const pool = new WorkerPool({ workers: cores(), backend: "wasm" });
      const n = 16384, k = pool.size;
      const shards = (steps: number) =>
        Array.from({ length: k }, (_, i) => ({
          first: Math.floor((i * n) / k),
          count: Math.floor(((i + 1) * n) / k) - Math.floor((i * n) / k),
          steps,
        }));
      await pool.run(workerJobs.ddpmShard, shards(2));
      return { pool, shards };
    },
    measure: async (prepared) => {
      const { pool, shards } = prepared as {
        pool: WorkerPool;
        shards: (s: number) => { first: number; count: number; steps: number }[];
      };
      const steps = 10;
      const t0 = performance.now();
      await pool.run(workerJobs.ddpmShard, shards(steps));
      // steps + 1 denoiser calls (the last is the final denoise).
      return (performance.now() - t0) / (steps + 1);
    },
    teardown: (prepared) => Promise.resolve((prepared as { pool: WorkerPool }).pool.close()),
  },
  {
    name: "core.ddpm_step_ms_16384_1thread",
    unit: "ms",
    reps: 5,
    setup: async () => {
      await initBackend("wasm");
      ddpmShard({ first: 0, count: 16384, steps: 2 });
    },
    measure: () => Promise.resolve(ddpmShard({ first: 0, count: 16384, steps: 10 }) / 11),
  },
  {
    name: "core.unet_train_step_ms",
    unit: "ms",
    reps: 3,
    setup: async () => {
      await initBackend("wasm");
      const net = new UNet({ height: 28, width: 28, channels: 1, features: [32, 64, 64] }, 0);
      const step = trainStep(net, 64);
      await step();
      return step;
    },
    measure: (prepared) => timeMs(prepared as () => Promise<void>, 1),
  },
];
