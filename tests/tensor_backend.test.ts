/**
 * Backend selection: auto avoids software GPU adapters, calls are idempotent, and gradients (taken through
 * lib/tensor/gradients.ts) work on each backend.
 */
import { initBackend, probeGpuAdapter, tf } from "../lib/tensor/mod.ts";
import { assert } from "./tensor_assert.ts";
import { grad } from "../lib/tensor/gradients.ts";

Deno.test("auto picks webgpu only on a hardware adapter, else wasm", async () => {
  const probe = await probeGpuAdapter();
  const info = await initBackend("auto");
  console.log(
    `adapter: ${probe ? `${probe.description} (hardware: ${probe.hardware})` : "none"}; chose ${info.detail}`,
  );
  assert(info.backend === (probe?.hardware ? "webgpu" : "wasm"), `chose ${info.backend}`);
  assert(tf.getBackend() === info.backend);
  const again = await initBackend("auto");
  assert(again === info, "second call with the same choice must be a no-op");
});

Deno.test("wasm and cpu initialise; gradients exist", async () => {
  for (const b of ["cpu", "wasm"] as const) {
    const info = await initBackend(b);
    assert(info.backend === b && tf.getBackend() === b && info.adapter === null, info.detail);
    const t = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const g = grad((x: tf.Tensor) => tf.sum(tf.square(x)))(t);
    assert((await g.data()).join() === "2,4,6,8", "gradient of sum(x²)");
    tf.dispose([t, g]);
  }
});
