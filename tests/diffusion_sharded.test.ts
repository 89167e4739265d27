/**
 * Reproducibility: the same seed gives the same samples whatever the batch size and the shard count, in this
 * thread or in Workers.
 */
import { initBackend } from "../lib/tensor/backend.ts";
import { MLP } from "../lib/nn/mlp.ts";
import { exportParams } from "../lib/nn/module.ts";
import { edmDenoiser } from "../lib/diffusion/denoiser.ts";
import { type SampleJob, sampleRows, type SampleShardInput } from "../lib/diffusion/sharded.ts";
import { runShards, splitRows } from "../lib/tensor/pool.ts";
import type { NDArray } from "../lib/store/zarr.ts";
import { assert } from "./tensor_assert.ts";

Deno.test("samples do not depend on batch size or shard count (Workers included)", async () => {
  await initBackend("wasm");
  const net = new MLP({ features: 3, hidden: [32, 32] }, 4);
  const weights = await exportParams(net);
  const job: SampleJob = { sampler: "ddpm", steps: 8, seed: 21, first: 0, count: 50, eventShape: [3] };
  const whole = await sampleRows(edmDenoiser(net), job);
  const batched = await sampleRows(edmDenoiser(net), { ...job, batchSize: 7 });
  const shards = splitRows(50, 3).map(([a, b]) => ({
    net: net.config,
    weights,
    job: { ...job, first: a, count: b - a },
  }));
  const parts = await runShards<SampleShardInput, NDArray<Float32Array>>(
    new URL("../lib/diffusion/sharded.ts", import.meta.url),
    "sampleShard",
    shards,
    { workers: 2 },
  );
  net.dispose();
  const joined = new Float32Array(150);
  let off = 0;
  for (const p of parts) {
    joined.set(p.data, off);
    off += p.data.length;
  }
  // Same backend, same kernels, each output row computed the same way whatever the batch: bit-identical.
  for (let i = 0; i < 150; i++) {
    assert(Object.is(whole.data[i], batched.data[i]), `batched ${i}: ${whole.data[i]} vs ${batched.data[i]}`);
    assert(Object.is(whole.data[i], joined[i]), `sharded ${i}: ${whole.data[i]} vs ${joined[i]}`);
  }
});
