/**
 * LayerNorm(SiLU(z)) of float32 rows on the wasm backend (the MLP's hidden layers, lib/nn/_mlp.ts) as two
 * kernels, forward and backward, with the gradient attached by `tf.customGrad`. Composed of TF.js ops it is
 * ~11 element-wise kernels forward and ~25 backward, each a full pass over the activations; here σ(z) and
 * a = z σ(z) are the wasm backend's own SIMD kernels (`Math.exp` in JavaScript costs 5–10× more), σ(z) kept
 * for the backward pass, then one pass per row gathers the statistics (float64: the variance is
 * E[a²] − μ², exact to ~1e-16 · (μ/σ)²) and one writes y over a. The backward pass reads z, σ(z) and dy
 * twice per row (while the row is in cache).
 *
 * Per row (F values), a = z σ(z), μ = mean(a), r = 1/√(var(a) + ε), x̂ = (a − μ) r, y = γ x̂ + β.
 * Backward: dβ = Σ_rows dy, dγ = Σ_rows dy x̂, and with g = γ dy, da = r (g − mean(g) − x̂ mean(g x̂)),
 * dz = da σ(z) (1 + z (1 − σ(z))).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const FORWARD = "DiemSiluLayerNorm";
const BACKWARD = "DiemSiluLayerNormGrad";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

function forward({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { z, gamma, beta } = inputs;
  const eps = attrs.eps as number;
  const [rows, f] = z.shape;
  const run = (name: string, kernelInputs: Record<string, tf.TensorInfo>) =>
    tf.getKernel(name, "wasm")!.kernelFunc({ inputs: kernelInputs, backend, attrs: {} }) as tf.TensorInfo;
  const sg = run("Sigmoid", { x: z });
  const y = run("Multiply", { a: z, b: sg }); // a = z σ(z), overwritten by y below
  const mean = backend.makeOutput([rows], "float32"), rstd = backend.makeOutput([rows], "float32");
  // Views after every allocation: an allocation can grow (and move) the heap.
  const yv = backend.typedArrayFromHeap(y), mv = backend.typedArrayFromHeap(mean);
  const rv = backend.typedArrayFromHeap(rstd);
  const gv = backend.typedArrayFromHeap(gamma), bv = backend.typedArrayFromHeap(beta);
  for (let row = 0, o = 0; row < rows; row++, o += f) {
    let s1 = 0, s2 = 0;
    for (let j = o; j < o + f; j++) {
      const a = yv[j];
      s1 += a;
      s2 += a * a;
    }
    const mu = s1 / f, r = 1 / Math.sqrt(Math.max(0, s2 / f - mu * mu) + eps);
    mv[row] = mu;
    rv[row] = r;
    for (let j = 0; j < f; j++) yv[o + j] = (yv[o + j] - mu) * r * gv[j] + bv[j];
  }
  return [y, sg, mean, rstd];
}

function backward({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { z, dy, sigmoid, mean, rstd, gamma } = inputs;
  const [rows, f] = z.shape;
  const out = [backend.makeOutput(z.shape, "float32"), ...[0, 1].map(() => backend.makeOutput([f], "float32"))];
  const [dz, dgamma, dbeta] = out.map((t) => backend.typedArrayFromHeap(t));
  const zv = backend.typedArrayFromHeap(z), dyv = backend.typedArrayFromHeap(dy);
  const sv = backend.typedArrayFromHeap(sigmoid), mv = backend.typedArrayFromHeap(mean);
  const rv = backend.typedArrayFromHeap(rstd), gv = backend.typedArrayFromHeap(gamma);
  const dg = new Float64Array(f), db = new Float64Array(f);
  for (let row = 0, o = 0; row < rows; row++, o += f) {
    const mu = mv[row], r = rv[row];
    let sumG = 0, sumGX = 0;
    for (let j = 0; j < f; j++) {
      const q = o + j, xhat = (zv[q] * sv[q] - mu) * r, d = dyv[q], g = d * gv[j];
      db[j] += d;
      dg[j] += d * xhat;
      sumG += g;
      sumGX += g * xhat;
    }
    const c0 = sumG / f, c1 = sumGX / f;
    for (let j = 0; j < f; j++) {
      const q = o + j, zq = zv[q], s = sv[q], xhat = (zq * s - mu) * r;
      const da = r * (dyv[q] * gv[j] - c0 - xhat * c1);
      dz[q] = da * s * (1 + zq * (1 - s));
    }
  }
  dgamma.set(dg);
  dbeta.set(db);
  return out;
}

/**
 * Register the two kernels on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerLayerNormKernels();
 * ```
 */
export function registerLayerNormKernels(): void {
  for (const [name, fn] of [[FORWARD, forward], [BACKWARD, backward]] as const) {
    if (tf.getKernel(name, "wasm")) continue;
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

/**
 * LayerNorm(SiLU(z)) over the last axis of z `[B, F]`, with γ, β `[F]`, and its gradient, by the fused
 * wasm kernels; null when the current backend has none or the shapes do not fit (the caller composes it
 * from TF.js ops, as lib/nn does).
 *
 * @example
 * ```ts
 * const h = fusedSiluLayerNorm(z, gamma, beta) ?? layerNorm(silu(z), gamma, beta);
 * ```
 */
export function fusedSiluLayerNorm(
  z: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
): tf.Tensor2D | null {
  if (!tf.getKernel(FORWARD, tf.getBackend()) || z.dtype !== "float32" || z.rank !== 2) return null;
  const f = z.shape[1];
  if (gamma.size !== f || beta.size !== f || gamma.dtype !== "float32" || beta.dtype !== "float32") return null;
  const attrs = { eps };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [zi, gi, bi] = args as tf.Tensor[];
    const [y, sigmoid, mean, rstd] = tf.engine().runKernel(FORWARD, { z: zi, gamma: gi, beta: bi }, attrs) as tf
      .Tensor[];
    save([zi, gi, sigmoid, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, gs, sg, ms, rs] = saved;
        const grads = { z: zs, dy, sigmoid: sg, mean: ms, rstd: rs, gamma: gs };
        return tf.engine().runKernel(BACKWARD, grads, attrs) as tf.Tensor[];
      },
    };
  });
  return op(z, tf.reshape(gamma, [f]), tf.reshape(beta, [f])) as tf.Tensor2D;
}
