import { initBackend, tf } from "./lib/tensor/backend.ts";
import { UNet } from "./lib/nn/unet.ts";
import { edmDenoiser } from "./lib/diffusion/denoiser.ts";
import { dsmLoss } from "./lib/diffusion/loss.ts";
await initBackend("wasm");
const net = new UNet({ height: 28, width: 28, channels: 1 }, 0);
const d = edmDenoiser(net);
const B = 64;
const x = tf.randomNormal([B, 28, 28, 1]), z = tf.randomNormal([B, 28, 28, 1]);
const s = tf.exp(tf.randomUniform([B], -3, 3)) as tf.Tensor1D;
const vars = Object.values(net.params());
const step = () => tf.tidy(() => { const { value, grads } = tf.variableGrads(() => dsmLoss(d, x, s, z), vars); return tf.addN(Object.values(grads).map(g => tf.sum(g))); });
step().dispose();
let t0 = performance.now(); const y = d(x, s); y.dataSync(); y.dispose(); console.log("forward", performance.now() - t0);
t0 = performance.now(); step().dataSync(); console.log("fwd+bwd", performance.now() - t0);
const prof = await tf.profile(() => { const r = step(); r.dataSync(); return r; });
const agg = new Map<string, [number, number]>();
for (const k of prof.kernels) { const a = agg.get(k.name) ?? [0, 0]; a[0] += k.kernelTimeMs as number; a[1]++; agg.set(k.name, a); }
console.log([...agg.entries()].sort((a, b) => b[1][0] - a[1][0]).slice(0, 15).map(([n, [t, c]]) => `${n}: ${t.toFixed(0)} ms (${c})`).join("\n"));
