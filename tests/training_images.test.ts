/**
 * The training tasks' image branch: on images `[H, W, C]` fit-prior builds the U-Net and trains it with an EMA
 * (decay 0.999), a constant lr 2e-4 (the papers' image settings), each recorded in the stage's metadata; a
 * warm start loads the previous lap's published weights; vectors keep the MLP and their old settings (the
 * manifold pipelines' numbers); the old `hidden` / `embedding` parameters are spec errors naming `network`.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";
import { writeMaskedBars } from "./image_fixtures.ts";
import { readArray } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import { buildNet, exportParams, MLP } from "../lib/nn/mod.ts";
import { initBackend } from "../lib/tensor/mod.ts";
import { networkConfig, resolveTraining } from "../tasks/_network.ts";

const UNET = "{ kind: unet, features: [8], blocks_per_level: 1, embedding: 8, groups: 4 }";

const SPEC = `
store: store
backend: wasm
stages:
  obs: { task: dataset, params: { source: zarr, path: obs.zarr } }
  first:
    task: fit-prior
    seed: 7
    inputs: { samples: obs }
    params: { network: ${UNET}, steps: 6, batch_size: 16, checkpoint_every: 3 }
  raw:
    task: fit-prior
    seed: 7
    inputs: { samples: obs }
    params: { network: ${UNET}, steps: 6, batch_size: 16, ema_decay: 0 }
  warm:
    task: fit-prior
    inputs: { samples: obs, init: first }
    params: { network: ${UNET}, steps: 1, batch_size: 16, lr: 1e-30, ema_decay: 0 }
`;

async function weights(dir: string, id: string): Promise<Record<string, NDArray>> {
  const shown = await show(dir, id);
  const entry = shown.entry as string;
  const names = Object.keys((shown.outputs as { arrays: Record<string, unknown> }).arrays)
    .filter((n) => n.startsWith("weights/"));
  return Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await readArray(`${entry}/arrays`, n)])),
  );
}

function maxAbsDiff(a: Record<string, NDArray>, b: Record<string, NDArray>): number {
  assertEquals(Object.keys(a).sort(), Object.keys(b).sort());
  let m = 0;
  for (const k of Object.keys(a)) {
    for (let i = 0; i < a[k].data.length; i++) m = Math.max(m, Math.abs(a[k].data[i] - b[k].data[i]));
  }
  return m;
}

Deno.test("fit-prior on images: a U-Net with EMA and constant lr 2e-4; warm start loads the previous weights", async () => {
  await initBackend("cpu");
  const dir = await scratch(SPEC);
  try {
    await writeMaskedBars(`${dir}/obs.zarr`, 48, 0.5, 1e-2);
    const r = await cli(dir, "run");
    assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const first = await show(dir, "first");
    const meta = first.meta as Record<string, Record<string, unknown>>;
    assertEquals(meta.model, { kind: "network", event_shape: [8, 8, 1] });
    assertEquals(meta.training, {
      network: { kind: "unet", features: [8], blocks_per_level: 1, embedding: 8, groups: 4 },
      lr: 2e-4,
      lr_schedule: "constant",
      ema_decay: 0.999,
    });
    // The published weights are the EMA: after 6 steps at decay 0.999 they are 0.994 init + 0.006 of the
    // trajectory, so they moved about 1/100 as far from the initial weights as the last weights ("raw": same
    // seed, same batches, no EMA) did.
    const ema = await weights(dir, "first"), last = await weights(dir, "raw");
    const net = buildNet(networkConfig(meta.training.network as never, [8, 8, 1]), 7);
    const init = Object.fromEntries(
      Object.entries(await exportParams(net)).map(([k, v]) => [`weights/${k}`, v]),
    );
    net.dispose();
    const moved = maxAbsDiff(last, init), emaMoved = maxAbsDiff(ema, init);
    assert(moved > 1e-4 && emaMoved < 0.05 * moved, `EMA moved ${emaMoved}, the last weights ${moved}`);
    // Warm start: lr ≈ 0 and no EMA, so the warm fit publishes exactly the weights it loaded.
    assertEquals(((await show(dir, "warm")).metrics as Record<string, unknown>).warm_start, true);
    assertEquals(maxAbsDiff(await weights(dir, "warm"), ema), 0);
    assertEquals(((await show(dir, "first")).metrics as Record<string, unknown>).warm_start, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("training defaults by event shape: vectors keep the MLP and the manifold settings", async () => {
  await initBackend("cpu");
  const vector = resolveTraining({}, [5]);
  assertEquals(vector.lr, 1e-3);
  assertEquals(vector.lrSchedule, "linear");
  assertEquals(vector.emaDecay, undefined);
  const net = buildNet(networkConfig(vector.network, [5]), 3);
  const before = new MLP({ features: 5, hidden: [256, 256, 256], embeddingFeatures: 64 }, 3);
  assertEquals(net.config, before.config);
  net.dispose(), before.dispose();
  const image = resolveTraining({ lr: 1e-3 }, [8, 8, 1]);
  assertEquals([image.network.kind, image.lr, image.lrSchedule, image.emaDecay], [
    "unet",
    1e-3,
    "constant",
    0.999,
  ]);
  assertMatch(
    (() => {
      try {
        networkConfig({ kind: "mlp", hidden: [8], embedding: 8 }, [8, 8, 1]);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })(),
    /mlp takes vectors.*kind: unet/,
  );
  // A conditional U-Net takes its condition as channels: [Aᵀy, mask] adds 2 input channels.
  const config = networkConfig(image.network, [8, 8, 1], { features: 128, channels: 2 });
  assertEquals((config as { conditionChannels?: number }).conditionChannels, 2);
});

Deno.test("the old MLP parameters hidden and embedding are spec errors that name network", async () => {
  const dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { samples: 64 } }
  fit: { task: fit-prior, inputs: { samples: data }, params: { hidden: [8, 8] } }
`);
  try {
    const r = await cli(dir, "run");
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /hidden.*renamed: use network/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
