/**
 * `deno run -A bench/profile.ts [unet|mlp|mmps] [STEPS]`: time every TF.js kernel of a training step (or, for
 * `mmps`, of one exact MMPS posterior-denoiser call: the MLP prior, 8192 rows in R^5, random 2-D projections,
 * one Worker's share of `mmps.step_ms`) on the wasm backend (`tf.profile`), grouped by kernel name (and input
 * shapes with `PROFILE_SHAPES=1`), and print the table sorted by time. `BLAS_THREADS=n` sets the BLAS threads.
 * Scopes of ops with a custom gradient ("unnamed scope", "…__op") are marked and left out of the kernel total.
 *
 * @module
 */
import { initBackend, setBlasThreads, tf } from "../lib/tensor/mod.ts";
import { MLP, type NoiseConditionedNet, UNet } from "../lib/nn/mod.ts";
import { trainStep } from "./core.ts";
import { edmDenoiser } from "../lib/diffusion/mod.ts";
import { mmpsDenoiser } from "../lib/guidance/mod.ts";
import { operatorFamily } from "../lib/operators/mod.ts";
import { Rng } from "../lib/random.ts";

const which = Deno.args[0] ?? "unet";
const steps = Number(Deno.args[1] ?? 2);
const info = await initBackend("wasm");
if (Deno.env.get("BLAS_THREADS")) setBlasThreads(Number(Deno.env.get("BLAS_THREADS")));
console.log(info.detail);
const net: NoiseConditionedNet = which === "unet"
  ? new UNet({ height: 28, width: 28, channels: 1, features: [32, 64, 64] }, 0)
  : new MLP({ features: 5 }, 0);
const step = which === "mmps" ? mmpsStep(8192) : trainStep(net, which === "mlp" ? 1024 : 64);

/** One exact MMPS denoiser call at σ = 1 for `rows` random projections (m = 2) of vectors in R^5. */
function mmpsStep(rows: number): () => Promise<void> {
  const x = new Float32Array(rows * 5);
  Rng.fromSeed(1).fillNormal(x);
  const family = operatorFamily("projection", { xShape: [5], m: 2 });
  const { y, params } = family.corrupt({ shape: [rows, 5], data: x }, 2, 0.01);
  const op = family.bind(params);
  const yt = tf.tensor(y.data, y.shape);
  const xt = tf.tensor(x, [rows, 5]);
  const sigma = tf.fill([rows], 1) as tf.Tensor1D;
  const post = mmpsDenoiser(edmDenoiser(net), op, yt, 0.01, { solver: "exact" });
  return async () => {
    const out = post(xt, sigma);
    await out.data();
    out.dispose();
  };
}
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
// tf.profile also lists the scopes of ops with a custom gradient (`tf.customGrad`: "unnamed scope", fused ops'
// "…__op"), whose time is that of the kernels they ran, listed too: shown, marked, not added to the total.
const isScope = (name: string) => /^unnamed scope|__op( |$)/.test(name);
const kernelMs = rows.reduce((a, [name, e]) => a + (isScope(name) ? 0 : e.ms), 0);
console.log(`step ${(total / steps).toFixed(0)} ms (profiled), kernels ${(kernelMs / steps).toFixed(0)} ms`);
for (const [name, e] of rows.slice(0, 40)) {
  console.log(
    `${(e.ms / steps).toFixed(1).padStart(8)} ms ${(100 * e.ms / kernelMs).toFixed(1).padStart(5)}% ${
      String(e.calls / steps).padStart(5)
    }× ${name}${isScope(name) ? " (op scope: its kernels' time, listed separately)" : ""}`,
  );
}
