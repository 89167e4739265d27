/**
 * Backend selection: auto avoids software GPU adapters, calls are idempotent, host transfers round-trip, and
 * TF.js gradients are registered (tfjs-core alone registers none).
 */
import { backendInfo, fromHost, initBackend, probeGpuAdapter, tf, toHost } from "../lib/tensor/mod.ts";
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
  assert(backendInfo() === info);
});

Deno.test("wasm and cpu initialise; toHost/fromHost round-trip; gradients exist", async () => {
  for (const b of ["cpu", "wasm"] as const) {
    const info = await initBackend(b);
    assert(info.backend === b && tf.getBackend() === b && info.adapter === null, info.detail);
    const t = fromHost({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    const h = await toHost(t);
    assert(h.shape.join() === "2,2" && h.data.join() === "1,2,3,4", JSON.stringify(h));
    const g = grad((x: tf.Tensor) => tf.sum(tf.square(x)))(t);
    assert((await g.data()).join() === "2,4,6,8", "gradient of sum(x²)");
    tf.dispose([t, g]);
  }
});
