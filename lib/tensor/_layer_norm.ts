/**
 * LayerNorm(SiLU(z)) of float32 rows on the wasm backend (the MLP's hidden layers, lib/nn/_mlp.ts) as a
 * forward kernel and two backward ones, dz and dγ (dβ is a `Sum`), with a registered gradient that runs
 * each only when asked for (an input VJP, as MMPS takes, needs no parameter gradients). Composed of TF.js ops it is
 * ~11 element-wise kernels forward and ~25 backward, each a full pass over the activations; here σ(z) and
 * a = z σ(z) are the wasm backend's own SIMD kernels (`Math.exp` in JavaScript costs 5–10× more), σ(z) kept
 * for the backward pass, then one pass per row gathers the statistics (float64: the variance is
 * E[a²] − μ², exact to ~1e-16 · (μ/σ)²) and one writes y over a. The dz kernel reads z, σ(z) and dy
 * twice per row (while the row is in cache), the dγ kernel once.
 *
 * Per row (F values), a = z σ(z), μ = mean(a), r = 1/√(var(a) + ε), x̂ = (a − μ) r, y = γ x̂ + β.
 * Backward: dβ = Σ_rows dy, dγ = Σ_rows dy x̂, and with g = γ dy, da = r (g − mean(g) − x̂ mean(g x̂)),
 * dz = da σ(z) (1 + z (1 − σ(z))).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const FORWARD = "DiemSiluLayerNorm";
const BACKWARD_INPUT = "DiemSiluLayerNormGradInput";
const BACKWARD_GAMMA = "DiemSiluLayerNormGradGamma";

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

/** dz only (what an input VJP needs): two passes per row over z, σ(z) and dy. */
function backwardInput({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { z, dy, sigmoid, mean, rstd, gamma } = inputs;
  const [rows, f] = z.shape;
  const out = backend.makeOutput(z.shape, "float32");
  const dz = backend.typedArrayFromHeap(out);
  const zv = backend.typedArrayFromHeap(z), dyv = backend.typedArrayFromHeap(dy);
  const sv = backend.typedArrayFromHeap(sigmoid), mv = backend.typedArrayFromHeap(mean);
  const rv = backend.typedArrayFromHeap(rstd), gv = backend.typedArrayFromHeap(gamma);
  for (let row = 0, o = 0; row < rows; row++, o += f) {
    const mu = mv[row], r = rv[row];
    let sumG = 0, sumGX = 0;
    for (let j = 0; j < f; j++) {
      // x̂ parked in dz until the second pass.
      const q = o + j, xhat = (zv[q] * sv[q] - mu) * r, g = dyv[q] * gv[j];
      dz[q] = xhat;
      sumG += g;
      sumGX += g * xhat;
    }
    const c0 = sumG / f, c1 = sumGX / f;
    for (let j = 0; j < f; j++) {
      const q = o + j, zq = zv[q], s = sv[q];
      const da = r * (dyv[q] * gv[j] - c0 - dz[q] * c1);
      dz[q] = da * s * (1 + zq * (1 - s));
    }
  }
  return out;
}

/** dγ = Σ_rows dy x̂ (float64 sums), for training; dβ = Σ_rows dy is a plain `Sum`. */
function backwardGamma({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { z, dy, sigmoid, mean, rstd } = inputs;
  const [rows, f] = z.shape;
  const out = backend.makeOutput([f], "float32");
  const zv = backend.typedArrayFromHeap(z), dyv = backend.typedArrayFromHeap(dy);
  const sv = backend.typedArrayFromHeap(sigmoid), mv = backend.typedArrayFromHeap(mean);
  const rv = backend.typedArrayFromHeap(rstd);
  const dg = new Float64Array(f);
  for (let row = 0, o = 0; row < rows; row++, o += f) {
    const mu = mv[row], r = rv[row];
    for (let j = 0; j < f; j++) dg[j] += dyv[o + j] * (zv[o + j] * sv[o + j] - mu) * r;
  }
  backend.typedArrayFromHeap(out).set(dg);
  return out;
}

/**
 * Register the three kernels on the wasm backend (before it initialises) and the forward kernel's
 * gradient. Idempotent.
 *
 * @example
 * ```ts
 * registerLayerNormKernels();
 * ```
 */
export function registerLayerNormKernels(): void {
  registerWasmKernels({
    [FORWARD]: forward,
    [BACKWARD_INPUT]: backwardInput,
    [BACKWARD_GAMMA]: backwardGamma,
  });
  if (tf.getGradient(FORWARD)) return;
  tf.registerGradient({
    kernelName: FORWARD,
    inputsToSave: ["z", "gamma"],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved) => {
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [z, gamma, sigmoid, mean, rstd] = saved;
      return {
        z: () =>
          tf.engine().runKernel(BACKWARD_INPUT, { z, dy, sigmoid, mean, rstd, gamma }, {}) as tf.Tensor,
        gamma: () => tf.engine().runKernel(BACKWARD_GAMMA, { z, dy, sigmoid, mean, rstd }, {}) as tf.Tensor,
        beta: () => tf.sum(dy, 0),
      };
    },
  });
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
  if (gamma.size !== f || beta.size !== f || gamma.dtype !== "float32" || beta.dtype !== "float32") {
    return null;
  }
  const inputs = { z, gamma: tf.reshape(gamma, [f]), beta: tf.reshape(beta, [f]) };
  // σ(z) and the statistics are outputs so that the gradient can save them; the caller wants only y.
  const [y, ...saved] = tf.engine().runKernel(FORWARD, inputs, { eps }) as tf.Tensor[];
  tf.dispose(saved);
  return y as tf.Tensor2D;
}
