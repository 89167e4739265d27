/**
 * Training: a denoiser trained on a 2-D Gaussian mixture generates the mixture; Zarr checkpoints round-trip bit
 * for bit; a resumed run equals an uninterrupted one; the training loop does not leak tensors.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { exportParams, importParams, MLP } from "../lib/nn/mod.ts";
import { edmDenoiser, initialSample, sampleDDPM, sigmaGrid, veSchedule } from "../lib/diffusion/mod.ts";
import {
  trainDenoiser,
  trainingCheckpoint,
  type TrainingState,
  trainingStateFrom,
} from "../lib/training/mod.ts";
import { Rng, RowStreams } from "../lib/random.ts";
import { readArray, writeArray } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import { assert } from "./tensor_assert.ts";

const MODES = [[-2, -2], [-2, 2], [2, -2], [2, 2]];
const MODE_STD = 0.3;

function mixture(n: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, "mixture");
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const m = MODES[rng.int(4)];
    out[2 * i] = m[0] + MODE_STD * rng.normal();
    out[2 * i + 1] = m[1] + MODE_STD * rng.normal();
  }
  return out;
}

function sameBits(
  a: Record<string, { data: ArrayLike<number> }>,
  b: Record<string, { data: ArrayLike<number> }>,
) {
  assert(Object.keys(a).sort().join() === Object.keys(b).sort().join(), "different keys");
  for (const k of Object.keys(a)) {
    const x = a[k].data, y = b[k].data;
    assert(x.length === y.length, `${k}: length`);
    for (let i = 0; i < x.length; i++) assert(Object.is(x[i], y[i]), `${k}[${i}]: ${x[i]} !== ${y[i]}`);
  }
}

Deno.test("a denoiser trained on a 2-D Gaussian mixture generates it", async () => {
  await initBackend("wasm");
  const data = mixture(8192, 1);
  const net = new MLP({ features: 2, hidden: [128, 128, 128], embeddingFeatures: 32 }, 0);
  const { losses } = await trainDenoiser({
    net,
    data,
    schedule: veSchedule(),
    steps: 2500,
    batchSize: 256,
    lr: 1e-3,
    seed: 4,
    logEvery: 250,
  });
  const n = 2048;
  const rows = new RowStreams(9, 0, n);
  const sigmas = sigmaGrid(veSchedule(), 64);
  const x = initialSample(rows, [n, 2], sigmas[0]);
  const y = sampleDDPM(edmDenoiser(net), x, sigmas, rows);
  const s = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  net.dispose();
  // Assign each sample to its nearest mode; bounds: each mode holds 25 % ± 6 % of samples (binomial sd ≈ 1 %),
  // ≥ 90 % of samples lie within 3 σ_mode of a mode, and per-mode spread is within 50 % of σ_mode.
  const count = [0, 0, 0, 0], sq = [0, 0, 0, 0];
  let near = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bestD = Infinity;
    MODES.forEach((m, k) => {
      const d = (s[2 * i] - m[0]) ** 2 + (s[2 * i + 1] - m[1]) ** 2;
      if (d < bestD) [best, bestD] = [k, d];
    });
    count[best]++;
    if (Math.sqrt(bestD) < 3 * MODE_STD) {
      near++;
      sq[best] += bestD;
    }
  }
  const fractions = count.map((c) => c / n);
  const spreads = sq.map((v, k) => Math.sqrt(v / Math.max(1, count[k]) / 2));
  console.log(
    `losses ${losses.map(([, l]) => l.toFixed(3)).join(" ")}; mode fractions ${
      fractions.map((f) => f.toFixed(3))
    }; near ${(near / n).toFixed(3)}; spreads ${spreads.map((v) => v.toFixed(3))}`,
  );
  for (const f of fractions) assert(Math.abs(f - 0.25) < 0.06, `mode fraction ${f}`);
  assert(near / n > 0.9, `only ${near / n} of samples near a mode`);
  for (const v of spreads) assert(Math.abs(v - MODE_STD) < 0.5 * MODE_STD, `mode spread ${v} vs ${MODE_STD}`);
});

Deno.test("the checkpoint layout round-trips through Zarr bit for bit and resume equals an uninterrupted run", async () => {
  await initBackend("wasm");
  const tmp = await Deno.makeTempDir({ prefix: "diffusion_ckpt_" });
  const dir = `${tmp}/model`;
  try {
    const data = mixture(1000, 2);
    const common = {
      data,
      schedule: veSchedule(),
      steps: 60,
      batchSize: 64,
      lr: 1e-3,
      seed: 5,
      emaDecay: 0.9,
    };
    const cfg = { features: 2, hidden: [32, 32] };
    // Uninterrupted.
    const a = new MLP(cfg, 1);
    const full = await trainDenoiser({ ...common, net: a });
    a.dispose();
    // Interrupted at 25 (an epoch boundary is at 15, 30, 45: 1000 rows / 64), saved, reloaded, resumed.
    const b = new MLP(cfg, 1);
    let saved: TrainingState | null = null;
    await trainDenoiser({
      ...common,
      net: b,
      stopAt: 25,
      onCheckpoint: async (s) => {
        saved = s;
        for (const [name, a] of Object.entries(trainingCheckpoint(s))) await writeArray(dir, name, a);
      },
    });
    b.dispose();
    const arrays: Record<string, NDArray> = {};
    for (const name of Object.keys(trainingCheckpoint(saved!))) arrays[name] = await readArray(dir, name);
    const loaded = trainingStateFrom(25, arrays, true);
    assert(loaded.step === 25, `step ${loaded.step}`);
    sameBits(saved!.params, loaded.params);
    sameBits(saved!.optimizer, loaded.optimizer);
    sameBits(saved!.ema!, loaded.ema!);
    const c = new MLP(cfg, 99); // different init: everything must come from the checkpoint
    const resumed = await trainDenoiser({ ...common, net: c, resume: loaded });
    c.dispose();
    assert(resumed.state.step === 60 && full.state.step === 60, "steps");
    sameBits(full.state.params, resumed.state.params);
    sameBits(full.state.optimizer, resumed.state.optimizer);
    sameBits(full.state.ema!, resumed.state.ema!);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a 10,000-step training loop keeps numTensors flat", async () => {
  await initBackend("wasm");
  const data = mixture(512, 3);
  const net = new MLP({ features: 2, hidden: [16, 16], embeddingFeatures: 8 }, 2);
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  await trainDenoiser({
    net,
    data,
    schedule: veSchedule(),
    steps: 10000,
    batchSize: 32,
    lr: 1e-3,
    seed: 1,
    emaDecay: 0.99,
    onStep: (step) => {
      if (step >= 2) counts.push(tf.memory().numTensors);
    },
  });
  assert(
    counts.every((c) => c === counts[0]),
    `numTensors ranged ${Math.min(...counts)}..${Math.max(...counts)}`,
  );
  assert(tf.memory().numTensors === before, `after training: ${tf.memory().numTensors} vs ${before} before`);
  const p = await exportParams(net);
  importParams(net, p);
  net.dispose();
});
