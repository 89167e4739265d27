/**
 * Gradients are registered by what takes them, never by the side effect of an unrelated import: in a fresh
 * process, the backend alone has none, and training and MMPS work without anything else imported first.
 */
import { assertEquals, assertMatch } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Run `code` as a module in a fresh Deno process at the repository root; its exit code and output. */
async function fresh(code: string): Promise<{ code: number; out: string }> {
  const file = await Deno.makeTempFile({ dir: `${ROOT}tests`, prefix: "_fresh_", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const r = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", file], cwd: ROOT }).output();
    return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("the backend alone registers no gradients (so the next test means something)", async () => {
  const r = await fresh(`
    import { initBackend, tf } from "../lib/tensor/mod.ts";
    await initBackend("cpu");
    tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));
  `);
  assertEquals(r.code === 0, false, r.out);
  assertMatch(r.out, /gradient/i);
});

Deno.test("training and MMPS take gradients in a fresh process that imports nothing else", async () => {
  const r = await fresh(`
    import { initBackend, tf } from "../lib/tensor/mod.ts";
    import { trainDenoiser } from "../lib/training/mod.ts";
    import { mmpsDenoiser } from "../lib/guidance/mod.ts";
    import { edmDenoiser, veSchedule } from "../lib/diffusion/mod.ts";
    import { MLP } from "../lib/nn/mod.ts";
    import { operatorFamily } from "../lib/operators/mod.ts";
    await initBackend("cpu");
    const net = new MLP({ features: 2, hidden: [8] }, 0);
    const { losses } = await trainDenoiser({ net, data: new Float32Array(64).fill(0.5), schedule: veSchedule(),
      steps: 2, batchSize: 8, lr: 1e-3, seed: 0, logEvery: 1 });
    const family = operatorFamily("mask", { xShape: [2], keep: 0.5 });
    const { y, params } = family.corrupt({ shape: [4, 2], data: new Float32Array(8).fill(1) }, 1, 0.1);
    const op = family.bind(params);
    const post = mmpsDenoiser(edmDenoiser(net), op, tf.tensor(y.data, y.shape), 0.1, { maxiter: 1 });
    const x = await post(tf.ones([4, 2]), tf.fill([4], 0.5) as tf.Tensor1D).data();
    console.log(losses.length === 2 && x.every(Number.isFinite) ? "GRADIENTS OK" : "BAD");
  `);
  assertEquals(r.code, 0, r.out);
  assertMatch(r.out, /GRADIENTS OK/);
});
