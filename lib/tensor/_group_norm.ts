/**
 * Group normalisation of NHWC float32 tensors on the wasm backend, with an optional epilogue (the U-Net's
 * modulation by the noise embedding, then SiLU), as two kernels, forward and backward, with the gradient
 * attached by `tf.customGrad`. Written with TF.js ops (lib/nn) it is ~10 element-wise kernels forward and
 * ~20 backward, plus ~4 and ~10 for the epilogue, each a full pass over the activations. Here the forward
 * pass reads x twice (per-channel sums and sums of squares in float64 in one pass, then z = x · mul + add
 * with coefficients per (image, channel)); σ(z) and z σ(z) are the wasm backend's own SIMD kernels (a
 * `Math.exp` per value in JavaScript cost 5–10× more), σ(z) kept for the backward pass, which reads x, dy
 * and σ(z) once (dz into dx, sums per channel) and dz and x once (dx in place). The variance is
 * E[x²] − μ² in float64: exact to ~1e-16 · (μ/σ)², far below float32 for activations.
 *
 * Per image b and group g (n = H·W·C/G values), x̂ = (x − μ) · r with r = 1/√(σ² + ε), u = γ x̂ + β,
 * z = u · (1 + s) + t with s, t [B, C] (the modulation; s = t = 0 without it) and y = z σ(z) with SiLU,
 * else y = z. Backward, with dz = dy (σ(z) (1 + z (1 − σ(z)))) with SiLU, else dy: dt = Σ dz,
 * ds = Σ dz u (over pixels, per image), du = dz (1 + s), dβ = Σ du, dγ = Σ du x̂ (over images and pixels),
 * and with g = γ du, dx = r (g − mean_bg(g) − x̂ · mean_bg(g x̂)).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";

const FORWARD = "DiemGroupNorm";
const BACKWARD = "DiemGroupNormGrad";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

/** Attributes of both kernels. */
interface Attrs {
  groups: number;
  eps: number;
  modulated: boolean;
  silu: boolean;
}

/** Per-(image, group) mean and 1/√(var + ε) of x [B, P, C] into mean and rstd [B, G]: sums in float64. */
function statistics(
  x: Float32Array,
  [b, p, c]: number[],
  groups: number,
  eps: number,
  mean: Float32Array,
  rstd: Float32Array,
) {
  const cg = c / groups, n = p * cg;
  const sum = new Float64Array(c), squares = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    sum.fill(0);
    squares.fill(0);
    for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) {
      for (let ch = 0; ch < c; ch++) {
        const v = x[q + ch];
        sum[ch] += v;
        squares[ch] += v * v;
      }
    }
    for (let g = 0; g < groups; g++) {
      let s1 = 0, s2 = 0;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        s1 += sum[ch];
        s2 += squares[ch];
      }
      const m = s1 / n;
      mean[i * groups + g] = m;
      rstd[i * groups + g] = 1 / Math.sqrt(Math.max(0, s2 / n - m * m) + eps);
    }
  }
}

/**
 * Per channel of image i: r (1/σ of its group), h = −μ r (x̂ = x r + h), m = 1 + s, and the map
 * z = x · mul + add.
 */
function coefficients(i: number, groups: number, v: Views, a: Coefficients): void {
  const c = a.r.length, cg = c / groups;
  for (let ch = 0; ch < c; ch++) {
    const k = i * groups + Math.floor(ch / cg), r = v.rstd[k], h = -v.mean[k] * r;
    const m = v.scale ? 1 + v.scale[i * c + ch] : 1, t = v.shift ? v.shift[i * c + ch] : 0;
    a.r[ch] = r;
    a.h[ch] = h;
    a.m[ch] = m;
    a.mul[ch] = v.gamma[ch] * r * m;
    a.add[ch] = (v.gamma[ch] * h + v.beta[ch]) * m + t;
  }
}

interface Views {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  scale: Float32Array | null;
  shift: Float32Array | null;
}

interface Coefficients {
  r: Float64Array;
  h: Float64Array;
  m: Float64Array;
  mul: Float64Array;
  add: Float64Array;
}

function coefficientArrays(c: number): Coefficients {
  const f = () => new Float64Array(c);
  return { r: f(), h: f(), m: f(), mul: f(), add: f() };
}

function views(
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo>,
  mean: tf.TensorInfo,
  rstd: tf.TensorInfo,
): Views {
  const view = (t: tf.TensorInfo | undefined) => t ? backend.typedArrayFromHeap(t) : null;
  return {
    gamma: view(inputs.gamma)!,
    beta: view(inputs.beta)!,
    mean: view(mean)!,
    rstd: view(rstd)!,
    scale: view(inputs.scale),
    shift: view(inputs.shift),
  };
}

function forward({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { x } = inputs;
  const { groups, eps, silu } = attrs as unknown as Attrs;
  const [b, h, w, c] = x.shape, p = h * w;
  const out = [
    backend.makeOutput(x.shape, "float32"),
    backend.makeOutput([b, groups], "float32"),
    backend.makeOutput([b, groups], "float32"),
  ];
  // Views after every allocation: an allocation can grow (and move) the heap.
  const xs = backend.typedArrayFromHeap(x), y = backend.typedArrayFromHeap(out[0]);
  const v = views(backend, inputs, out[1], out[2]);
  statistics(xs, [b, p, c], groups, eps, v.mean, v.rstd);
  const a = coefficientArrays(c), { mul, add } = a;
  for (let i = 0; i < b; i++) {
    coefficients(i, groups, v, a);
    for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) {
      for (let ch = 0; ch < c; ch++) y[q + ch] = xs[q + ch] * mul[ch] + add[ch];
    }
  }
  if (!silu) return out;
  // σ(z) and z σ(z) by the backend's own (SIMD) kernels, 5–10× faster than Math.exp and a JavaScript
  // loop here; σ(z) is kept for the backward pass.
  const run = (name: string, a: tf.TensorInfo, b?: tf.TensorInfo) =>
    tf.getKernel(name, "wasm")!.kernelFunc({
      inputs: b ? { a, b } : { x: a },
      backend,
      attrs: {},
    }) as tf.TensorInfo;
  const sg = run("Sigmoid", out[0]), product = run("Multiply", out[0], sg);
  backend.disposeData(out[0].dataId);
  return [product, out[1], out[2], sg];
}

/**
 * dz = dy · σ(z) (1 + z (1 − σ(z))) with z = x · mul + add over values [q0, q1) of x, and per channel
 * Σ dz and Σ dz x into sumDz and sumDzX (zeroed here). Separate from {@link gradSums} so that each loop
 * has no branch and only non-null arrays (1.5× faster in V8).
 */
function siluGradSums(
  [q0, q1]: readonly [number, number],
  x: Float32Array,
  dy: Float32Array,
  sigmoid: Float32Array,
  mul: Float64Array,
  add: Float64Array,
  dz: Float32Array,
  sumDz: Float64Array,
  sumDzX: Float64Array,
): void {
  const c = sumDz.length, s1 = new Float64Array(c), s2 = new Float64Array(c);
  for (let q = q0; q < q1; q += c) {
    for (let ch = 0; ch < c; ch++) {
      const xq = x[q + ch], z = xq * mul[ch] + add[ch], sg = sigmoid[q + ch];
      const d = dy[q + ch] * sg * (1 + z * (1 - sg));
      dz[q + ch] = d;
      s1[ch] += d;
      s2[ch] += d * xq;
    }
  }
  sumDz.set(s1);
  sumDzX.set(s2);
}

/** {@link siluGradSums} without SiLU: dz = dy. */
function gradSums(
  [q0, q1]: readonly [number, number],
  x: Float32Array,
  dy: Float32Array,
  dz: Float32Array,
  sumDz: Float64Array,
  sumDzX: Float64Array,
): void {
  const c = sumDz.length, s1 = new Float64Array(c), s2 = new Float64Array(c);
  for (let q = q0; q < q1; q += c) {
    for (let ch = 0; ch < c; ch++) {
      const d = dy[q + ch];
      dz[q + ch] = d;
      s1[ch] += d;
      s2[ch] += d * x[q + ch];
    }
  }
  sumDz.set(s1);
  sumDzX.set(s2);
}

function backward({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { x } = inputs;
  const { silu, modulated } = attrs as unknown as Attrs;
  const [b, h, w, c] = x.shape, p = h * w, groups = inputs.mean.shape[1], cg = c / groups, n = p * cg;
  const shapes = [x.shape, [c], [c], ...(modulated ? [[b, c], [b, c]] : [])];
  const out = shapes.map((shape) => backend.makeOutput(shape, "float32"));
  const [dx, dgamma, dbeta, dscale, dshift] = out.map((t) => backend.typedArrayFromHeap(t));
  const xv = backend.typedArrayFromHeap(x), dyv = backend.typedArrayFromHeap(inputs.dy);
  const sgv = silu ? backend.typedArrayFromHeap(inputs.sigmoid) : null;
  const v = views(backend, inputs, inputs.mean, inputs.rstd);
  // dz goes into dx, which the second pass turns into dx in place.
  const dz = dx, a = coefficientArrays(c), { r, h: hh, m, mul, add } = a;
  const dg = new Float64Array(c), db = new Float64Array(c), sumDz = new Float64Array(c);
  const sumDzX = new Float64Array(c), sumG = new Float64Array(groups), sumGX = new Float64Array(groups);
  const kDz = new Float64Array(c), kX = new Float64Array(c), k0 = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    coefficients(i, groups, v, a);
    const range = [i * p * c, (i + 1) * p * c] as const;
    if (sgv) siluGradSums(range, xv, dyv, sgv, mul, add, dz, sumDz, sumDzX);
    else gradSums(range, xv, dyv, dz, sumDz, sumDzX);
    // Σ dz x̂ = r Σ dz x + h Σ dz
    for (let ch = 0; ch < c; ch++) sumDzX[ch] = r[ch] * sumDzX[ch] + hh[ch] * sumDz[ch];
    sumG.fill(0);
    sumGX.fill(0);
    for (let ch = 0; ch < c; ch++) {
      // Σ dz u = γ Σ dz x̂ + β Σ dz; du = dz (1 + s).
      if (dscale) dscale[i * c + ch] = v.gamma[ch] * sumDzX[ch] + v.beta[ch] * sumDz[ch];
      if (dshift) dshift[i * c + ch] = sumDz[ch];
      db[ch] += m[ch] * sumDz[ch];
      dg[ch] += m[ch] * sumDzX[ch];
      const g = Math.floor(ch / cg);
      sumG[g] += v.gamma[ch] * m[ch] * sumDz[ch];
      sumGX[g] += v.gamma[ch] * m[ch] * sumDzX[ch];
    }
    // dx = r (γ du − ΣG/n − x̂ ΣGX/n) with x̂ = x r + h: dx = dz · kDz + x · kX + k0
    for (let ch = 0; ch < c; ch++) {
      const g = Math.floor(ch / cg);
      kDz[ch] = r[ch] * v.gamma[ch] * m[ch];
      kX[ch] = -r[ch] * r[ch] * sumGX[g] / n;
      k0[ch] = -r[ch] * (sumG[g] / n + hh[ch] * sumGX[g] / n);
    }
    for (let q = i * p * c, e = (i + 1) * p * c; q < e; q += c) {
      for (let ch = 0; ch < c; ch++) dx[q + ch] = dz[q + ch] * kDz[ch] + xv[q + ch] * kX[ch] + k0[ch];
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
  registerWasmKernels({ [FORWARD]: forward, [BACKWARD]: backward });
}

/** What follows the normalisation in the fused kernels: y = act(u · (1 + scale) + shift). */
export interface GroupNormEpilogue {
  /** Per (image, channel) scale s, any shape of B·C values ([B, 1, 1, C] or [B, C]). */
  scale?: tf.Tensor;
  /** Per (image, channel) shift t, with `scale`. */
  shift?: tf.Tensor;
  /** Apply SiLU z σ(z) at the end. */
  silu?: boolean;
}

/**
 * Group normalisation u = γ (x − μ)/√(σ² + ε) + β of x [B, H, W, C] (statistics per image over pixels
 * and the C/G channels of each group; γ, β [C]), then the epilogue y = u · (1 + scale) + shift (when
 * given) and SiLU (when asked), with its gradient, by the fused wasm kernels; null when the current
 * backend has none or the shapes do not fit (the caller composes it from TF.js ops, as lib/nn does).
 *
 * @example
 * ```ts
 * const y = fusedGroupNorm(x, 8, gamma, beta) ?? composedGroupNorm(x, 8, gamma, beta);
 * const h = fusedGroupNorm(x, 8, gamma, beta, 1e-5, { scale, shift, silu: true }); // silu(y·(1+s)+t)
 * ```
 */
export function fusedGroupNorm(
  x: tf.Tensor4D,
  groups: number,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
  epilogue: GroupNormEpilogue = {},
): tf.Tensor4D | null {
  if (!tf.getKernel(FORWARD, tf.getBackend()) || x.dtype !== "float32") return null;
  const [b, , , c] = x.shape;
  if (gamma.size !== c || beta.size !== c || c % groups !== 0) return null;
  const { scale, shift, silu = false } = epilogue;
  const modulated = scale !== undefined || shift !== undefined;
  if (modulated && (scale?.size !== b * c || shift?.size !== b * c)) return null;
  const attrs = { groups, eps, modulated, silu };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, gi, bi, si, ti] = args as tf.Tensor[];
    const inputs = { x: xi, gamma: gi, beta: bi, ...(modulated ? { scale: si, shift: ti } : {}) };
    const [y, mean, rstd, sigmoid] = tf.engine().runKernel(FORWARD, inputs, attrs) as tf.Tensor[];
    save([xi, gi, bi, mean, rstd, ...(silu ? [sigmoid] : []), ...(modulated ? [si, ti] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, bs, ms, rs] = saved, rest = saved.slice(5);
        const grads: tf.NamedTensorMap = { x: xs, dy, gamma: gs, beta: bs, mean: ms, rstd: rs };
        if (silu) grads.sigmoid = rest.shift()!;
        if (modulated) [grads.scale, grads.shift] = rest;
        return tf.engine().runKernel(BACKWARD, grads, attrs) as tf.Tensor[];
      },
    };
  });
  const params = [tf.reshape(gamma, [c]), tf.reshape(beta, [c])];
  const mods = modulated ? [tf.reshape(scale!, [b, c]), tf.reshape(shift!, [b, c])] : [];
  return op(x, ...params, ...mods) as tf.Tensor4D;
}
