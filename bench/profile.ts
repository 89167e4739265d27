/**
 * `deno run -A bench/profile.ts [unet|mlp] [STEPS]`: time every TF.js kernel of a training step on the
 * wasm backend (`tf.profile`), grouped by kernel name (and input shapes with `PROFILE_SHAPES=1`), and print
 * the table sorted by time. `BLAS_THREADS=n` sets the BLAS threads.
 *
 * @module
 */
import { initBackend, setBlasThreads, tf } from "../lib/tensor/mod.ts";
import { MLP, type NoiseConditionedNet, UNet } from "../lib/nn/mod.ts";
import { trainStep } from "./core.ts";

const which = Deno.args[0] ?? "unet";
const steps = Number(Deno.args[1] ?? 2);
const info = await initBackend("wasm");
if (Deno.env.get("BLAS_THREADS")) setBlasThreads(Number(Deno.env.get("BLAS_THREADS")));
console.log(info.detail);
const net: NoiseConditionedNet = which === "mlp"
  ? new MLP({ features: 5 }, 0)
  : new UNet({ height: 28, width: 28, channels: 1, features: [32, 64, 64] }, 0);
const step = trainStep(net, which === "mlp" ? 1024 : 64);
await step();
const byName = new Map<string, { ms: number; calls: number }>();
let total = 0;
for (let s = 0; s < steps; s++) {
  const t0 = performance.now();
  const p = await tf.profile(() => step());
  total += performance.now() - t0;
  for (const k of p.kernels) {
    const ms = await k.kernelTimeMs as number;
    const key = Deno.env.get("PROFILE_SHAPES") ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = byName.get(key) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byName.set(key, e);
  }
}
const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((a, [, e]) => a + e.ms, 0);
console.log(`step ${(total / steps).toFixed(0)} ms (profiled), kernels ${(kernelMs / steps).toFixed(0)} ms`);
for (const [name, e] of rows.slice(0, 40)) {
  console.log(
    `${(e.ms / steps).toFixed(1).padStart(8)} ms ${(100 * e.ms / kernelMs).toFixed(1).padStart(5)}% ${
      String(e.calls / steps).padStart(5)
    }× ${name}`,
  );
}
