/**
 * Group normalisation of NHWC float32 tensors on the wasm backend as two kernels, forward and
 * backward, with the gradient attached by `tf.customGrad`. Written with TF.js ops (lib/nn's
 * `groupNorm`) it is ~10 element-wise kernels forward and ~20 backward, each a full pass over the
 * activations: a fifth of a U-Net training step. Here the forward pass reads x three times (mean,
 * centred variance, output) and the backward pass reads x and dy three times; sums accumulate per channel
 * in float64 and are folded into groups, and each output is one multiply-add per element with
 * coefficients per (image, channel).
 *
 * Per image b and group g (n = H·W·C/G values), x̂ = (x − μ) · r with r = 1/√(σ² + ε), y = γ x̂ + β;
 * dβ = Σ dy, dγ = Σ dy x̂ (over images and pixels), and with g = γ dy,
 * dx = r (g − mean_bg(g) − x̂ · mean_bg(g x̂)).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const FORWARD = "DiemGroupNorm";
const BACKWARD = "DiemGroupNormGrad";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

/** Σ over the pixels of image i of f(q, ch), per channel, into acc [C] (zeroed here). */
function perChannel(acc: Float64Array, i: number, p: number, add: (q: number, acc: Float64Array) => void) {
  const c = acc.length;
  acc.fill(0);
  for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) add(q, acc);
}

/** Sum the channels of each group: out[g] = Σ_{ch in g} acc[ch] · (weight?.[ch] ?? 1). */
function foldGroups(acc: Float64Array, groups: number, out: Float64Array, weight?: Float32Array) {
  const cg = acc.length / groups;
  out.fill(0);
  for (let ch = 0; ch < acc.length; ch++) out[Math.floor(ch / cg)] += acc[ch] * (weight ? weight[ch] : 1);
}

/**
 * Per-(image, group) mean and 1/√(var + ε) of x [B, P, C] (centred variance), float64, and the affine
 * map per (image, channel) that they give: x̂ = x · scale + shift.
 */
function statistics(x: Float32Array, [b, p, c]: number[], groups: number, eps: number) {
  const cg = c / groups, n = p * cg;
  const mean = new Float64Array(b * groups), rstd = new Float64Array(b * groups);
  const scale = new Float64Array(b * c), shift = new Float64Array(b * c);
  const acc = new Float64Array(c), chMean = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    const m = mean.subarray(i * groups, (i + 1) * groups), r = rstd.subarray(i * groups, (i + 1) * groups);
    perChannel(acc, i, p, (q, a) => {
      for (let ch = 0; ch < c; ch++) a[ch] += x[q + ch];
    });
    foldGroups(acc, groups, m);
    for (let g = 0; g < groups; g++) m[g] /= n;
    for (let ch = 0; ch < c; ch++) chMean[ch] = m[Math.floor(ch / cg)];
    perChannel(acc, i, p, (q, a) => {
      for (let ch = 0; ch < c; ch++) {
        const d = x[q + ch] - chMean[ch];
        a[ch] += d * d;
      }
    });
    foldGroups(acc, groups, r);
    for (let g = 0; g < groups; g++) r[g] = 1 / Math.sqrt(r[g] / n + eps);
    for (let ch = 0; ch < c; ch++) {
      scale[i * c + ch] = r[Math.floor(ch / cg)];
      shift[i * c + ch] = -chMean[ch] * scale[i * c + ch];
    }
  }
  return { mean, rstd, scale, shift };
}

function forward({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = inputs;
  const { groups, eps } = attrs as { groups: number; eps: number };
  const [b, h, w, c] = x.shape, p = h * w;
  const { mean, rstd, scale, shift } = statistics(backend.typedArrayFromHeap(x), [b, p, c], groups, eps);
  const out = [
    backend.makeOutput(x.shape, "float32"),
    backend.makeOutput([b, groups], "float32"),
    backend.makeOutput([b, groups], "float32"),
  ];
  // Views after every allocation: an allocation can grow (and move) the heap.
  const [y, m, r] = out.map((t) => backend.typedArrayFromHeap(t));
  const xs = backend.typedArrayFromHeap(x), gv = backend.typedArrayFromHeap(gamma);
  const bv = backend.typedArrayFromHeap(beta);
  const mul = new Float64Array(c), add = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    // y = γ (x · scale + shift) + β = x · mul + add
    for (let ch = 0; ch < c; ch++) {
      mul[ch] = gv[ch] * scale[i * c + ch];
      add[ch] = gv[ch] * shift[i * c + ch] + bv[ch];
    }
    for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) {
      for (let ch = 0; ch < c; ch++) y[q + ch] = xs[q + ch] * mul[ch] + add[ch];
    }
  }
  m.set(mean);
  r.set(rstd);
  return out;
}

function backward({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { x, dy, gamma, mean, rstd } = inputs;
  const [b, h, w, c] = x.shape, p = h * w, groups = mean.shape[1], cg = c / groups, n = p * cg;
  const out = [
    backend.makeOutput(x.shape, "float32"),
    backend.makeOutput([c], "float32"),
    backend.makeOutput([c], "float32"),
  ];
  const [dx, dgamma, dbeta] = out.map((t) => backend.typedArrayFromHeap(t));
  const [xv, dyv, gv, mv, rv] = [x, dy, gamma, mean, rstd].map((t) => backend.typedArrayFromHeap(t));
  const dg = new Float64Array(c), db = new Float64Array(c), sumDy = new Float64Array(c);
  const sumDyX = new Float64Array(c), sumG = new Float64Array(groups), sumGX = new Float64Array(groups);
  const scale = new Float64Array(c), shift = new Float64Array(c);
  const kDy = new Float64Array(c), kX = new Float64Array(c), k0 = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    for (let ch = 0; ch < c; ch++) {
      const s = i * groups + Math.floor(ch / cg);
      scale[ch] = rv[s];
      shift[ch] = -mv[s] * rv[s];
    }
    perChannel(sumDy, i, p, (q, a) => {
      for (let ch = 0; ch < c; ch++) a[ch] += dyv[q + ch];
    });
    perChannel(sumDyX, i, p, (q, a) => {
      for (let ch = 0; ch < c; ch++) a[ch] += dyv[q + ch] * (xv[q + ch] * scale[ch] + shift[ch]);
    });
    for (let ch = 0; ch < c; ch++) {
      db[ch] += sumDy[ch];
      dg[ch] += sumDyX[ch];
    }
    foldGroups(sumDy, groups, sumG, gv);
    foldGroups(sumDyX, groups, sumGX, gv);
    // dx = r (γ dy − ΣG/n − x̂ ΣGX/n) with x̂ = x · scale + shift: dx = dy · kDy + x · kX + k0
    for (let ch = 0; ch < c; ch++) {
      const g = Math.floor(ch / cg), r = scale[ch];
      kDy[ch] = r * gv[ch];
      kX[ch] = -r * scale[ch] * sumGX[g] / n;
      k0[ch] = -r * (sumG[g] / n + shift[ch] * sumGX[g] / n);
    }
    for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) {
      for (let ch = 0; ch < c; ch++) dx[q + ch] = dyv[q + ch] * kDy[ch] + xv[q + ch] * kX[ch] + k0[ch];
    }
  }
  dgamma.set(dg);
  dbeta.set(db);
  return out;
}

/**
 * Register the two group-norm kernels on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerGroupNormKernels();
 * ```
 */
export function registerGroupNormKernels(): void {
  for (const [name, fn] of [[FORWARD, forward], [BACKWARD, backward]] as const) {
    if (tf.getKernel(name, "wasm")) continue;
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

/**
 * Group normalisation y = γ (x − μ)/√(σ² + ε) + β of x [B, H, W, C] (statistics per image over pixels
 * and the C/G channels of each group; γ, β [C]) with its gradient, by the fused wasm kernels; null
 * when the current backend has none (the caller composes it from TF.js ops, as lib/nn does).
 *
 * @example
 * ```ts
 * const y = fusedGroupNorm(x, 8, gamma, beta) ?? composedGroupNorm(x, 8, gamma, beta);
 * ```
 */
export function fusedGroupNorm(
  x: tf.Tensor4D,
  groups: number,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
): tf.Tensor4D | null {
  if (!tf.getKernel(FORWARD, tf.getBackend()) || x.dtype !== "float32") return null;
  const c = x.shape[3];
  if (gamma.size !== c || beta.size !== c || c % groups !== 0) return null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, gi, bi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, rstd] = tf.engine().runKernel(FORWARD, { x: xi, gamma: gi, beta: bi }, {
      groups,
      eps,
    }) as tf.Tensor[];
    save([xi, gi, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, ms, rs] = saved;
        return tf.engine().runKernel(
          BACKWARD,
          { x: xs, dy, gamma: gs, mean: ms, rstd: rs },
          {},
        ) as tf.Tensor[];
      },
    };
  });
  return op(x, tf.reshape(gamma, [c]), tf.reshape(beta, [c])) as tf.Tensor4D;
}
