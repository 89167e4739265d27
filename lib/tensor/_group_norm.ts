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
 * Where C is a multiple of 4 (the U-Net's 32 and 64 channels), those per-value passes run image by image
 * as WebAssembly SIMD functions on the heap (lib/tensor/_group_norm_simd.ts: four channels a vector, sums
 * in float64, σ(z) by its own exp, fused into the forward map; 2–3× faster than the scalar loops and the
 * backend's Sigmoid and Multiply), with the centred forms z = (x − μ) · γ r m + (β m + t) and
 * dx = dz · r γ m + (x − μ) · kX + k0 (no cancellation between x · r and μ · r in float32); only the
 * per-channel algebra stays in JavaScript. Other channel counts take the scalar loops below.
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
import { type GroupNormSimd, groupNormSimd } from "./_group_norm_simd.ts";

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
  const simd = simdFor(backend, c);
  if (simd) return simdForward(simd, backend, inputs, attrs as unknown as Attrs, out);
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
  const simd = simdFor(backend, c);
  if (simd) return simdBackward(simd, backend, inputs, attrs as unknown as Attrs, out);
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

/** The SIMD passes on this backend's heap when C is a multiple of 4, else null (the scalar loops). */
function simdFor(backend: WasmBackendLike, c: number): GroupNormSimd | null {
  return c % 4 === 0 ? groupNormSimd(backend) : null;
}

/** A heap scratch for one kernel call: per-quad float64 sums (4C floats), then per-quad coefficients (4C). */
class Scratch {
  readonly tensor: tf.TensorInfo;
  readonly c: number;
  accOffset = 0;
  coefOffset = 0;
  sums: Float64Array<ArrayBufferLike> = new Float64Array(0);
  coef: Float32Array<ArrayBufferLike> = new Float32Array(0);
  constructor(private backend: WasmBackendLike, c: number) {
    this.c = c;
    this.tensor = backend.makeOutput([8 * c + 4], "float32");
  }
  /** Take the views (after every allocation of the call). */
  views(): void {
    const heap = this.backend.typedArrayFromHeap(this.tensor);
    // Float64 sums want 8-byte alignment: skip a float where the allocation is not.
    const skip = heap.byteOffset % 8 === 0 ? 0 : 1;
    this.accOffset = heap.byteOffset + 4 * skip;
    this.coefOffset = this.accOffset + 16 * this.c;
    this.sums = new Float64Array(heap.buffer, this.accOffset, 2 * this.c);
    this.coef = new Float32Array(heap.buffer, this.coefOffset, 4 * this.c);
  }
  /** Sum `which` (0 or 1) of channel ch. */
  sum(which: number, ch: number): number {
    return this.sums[(ch >> 2) * 8 + which * 4 + (ch & 3)];
  }
  /** Set coefficient j of J (per quad) for channel ch. */
  set(j: number, perQuad: number, ch: number, v: number): void {
    this.coef[((ch >> 2) * perQuad + j) * 4 + (ch & 3)] = v;
  }
  dispose(): void {
    this.backend.disposeData(this.tensor.dataId);
  }
}

/**
 * Forward by the SIMD passes, per image: channel sums → statistics (float64, stored as float32) → the
 * centred map z = (x − μ) · γ r m + (β m + t) (with m = 1 + s, the float32 μ and r the backward pass reads)
 * → y = z or z σ(z), σ(z) kept.
 */
function simdForward(
  simd: GroupNormSimd,
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo>,
  { groups, eps, silu }: Attrs,
  out: tf.TensorInfo[],
): tf.TensorInfo[] {
  const { x } = inputs;
  const [b, h, w, c] = x.shape, p = h * w, cg = c / groups, n = p * cg, bytes = 4 * p * c;
  if (silu) out.push(backend.makeOutput(x.shape, "float32"));
  const scratch = new Scratch(backend, c);
  scratch.views();
  const [xOff, yOff, sgOff] = [x, out[0], out[3]].map((t) =>
    t ? backend.typedArrayFromHeap(t).byteOffset : 0
  );
  const v = views(backend, inputs, out[1], out[2]);
  for (let i = 0; i < b; i++) {
    simd.sums(xOff + i * bytes, p, c, scratch.accOffset);
    for (let g = 0; g < groups; g++) {
      let s1 = 0, s2 = 0;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        s1 += scratch.sum(0, ch);
        s2 += scratch.sum(1, ch);
      }
      const m = s1 / n;
      v.mean[i * groups + g] = m;
      v.rstd[i * groups + g] = 1 / Math.sqrt(Math.max(0, s2 / n - m * m) + eps);
    }
    centredCoefficients(i, groups, v, scratch);
    if (silu) {
      simd.affineSilu(xOff + i * bytes, yOff + i * bytes, sgOff + i * bytes, p, c, scratch.coefOffset);
    } else simd.affine(xOff + i * bytes, yOff + i * bytes, p, c, scratch.coefOffset);
  }
  scratch.dispose();
  return out;
}

/** Per channel of image i, three per quad: μ, mul = γ r (1 + s), add = β (1 + s) + t. */
function centredCoefficients(i: number, groups: number, v: Views, scratch: Scratch): void {
  const c = scratch.c, cg = c / groups;
  for (let ch = 0; ch < c; ch++) {
    const k = i * groups + Math.floor(ch / cg);
    const m = v.scale ? 1 + v.scale[i * c + ch] : 1, t = v.shift ? v.shift[i * c + ch] : 0;
    scratch.set(0, 3, ch, v.mean[k]);
    scratch.set(1, 3, ch, v.gamma[ch] * v.rstd[k] * m);
    scratch.set(2, 3, ch, v.beta[ch] * m + t);
  }
}

/**
 * Backward by the SIMD passes, per image: dz (into dx) with Σ dz and Σ dz (x − μ) per channel, the
 * per-channel algebra of {@link backward} in float64, then dx = dz · r γ m + (x − μ) · (−r² ΣGX/n) − r ΣG/n.
 */
function simdBackward(
  simd: GroupNormSimd,
  backend: WasmBackendLike,
  inputs: Record<string, tf.TensorInfo>,
  { silu }: Attrs,
  out: tf.TensorInfo[],
): tf.TensorInfo[] {
  const { x } = inputs;
  const [b, h, w, c] = x.shape, p = h * w, groups = inputs.mean.shape[1], cg = c / groups, n = p * cg;
  const bytes = 4 * p * c;
  const scratch = new Scratch(backend, c);
  scratch.views();
  const [dx, dgamma, dbeta, dscale, dshift] = out.map((t) => backend.typedArrayFromHeap(t));
  const offset = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  const [xOff, dyOff, dxOff] = [offset(x), offset(inputs.dy), dx.byteOffset];
  const sgOff = silu ? offset(inputs.sigmoid) : 0;
  const v = views(backend, inputs, inputs.mean, inputs.rstd);
  const dg = new Float64Array(c), db = new Float64Array(c), sumG = new Float64Array(groups);
  const sumGX = new Float64Array(groups), r = new Float64Array(c), m = new Float64Array(c);
  const sumDz = new Float64Array(c), sumDzX = new Float64Array(c);
  for (let i = 0; i < b; i++) {
    const at = i * bytes;
    centredCoefficients(i, groups, v, scratch);
    if (silu) {
      simd.siluGradSums(
        xOff + at,
        dyOff + at,
        sgOff + at,
        dxOff + at,
        p,
        c,
        scratch.coefOffset,
        scratch.accOffset,
      );
    } else simd.gradSums(xOff + at, dyOff + at, dxOff + at, p, c, scratch.coefOffset, scratch.accOffset);
    sumG.fill(0);
    sumGX.fill(0);
    for (let ch = 0; ch < c; ch++) {
      const k = i * groups + Math.floor(ch / cg), g = Math.floor(ch / cg);
      r[ch] = v.rstd[k];
      m[ch] = v.scale ? 1 + v.scale[i * c + ch] : 1;
      sumDz[ch] = scratch.sum(0, ch);
      sumDzX[ch] = r[ch] * scratch.sum(1, ch); // Σ dz x̂ = r Σ dz (x − μ)
      if (dscale) dscale[i * c + ch] = v.gamma[ch] * sumDzX[ch] + v.beta[ch] * sumDz[ch];
      if (dshift) dshift[i * c + ch] = sumDz[ch];
      db[ch] += m[ch] * sumDz[ch];
      dg[ch] += m[ch] * sumDzX[ch];
      sumG[g] += v.gamma[ch] * m[ch] * sumDz[ch];
      sumGX[g] += v.gamma[ch] * m[ch] * sumDzX[ch];
    }
    for (let ch = 0; ch < c; ch++) {
      const g = Math.floor(ch / cg);
      scratch.set(0, 4, ch, v.mean[i * groups + g]);
      scratch.set(1, 4, ch, r[ch] * v.gamma[ch] * m[ch]);
      scratch.set(2, 4, ch, -r[ch] * r[ch] * sumGX[g] / n);
      scratch.set(3, 4, ch, -r[ch] * sumG[g] / n);
    }
    simd.gradInput(dxOff + at, xOff + at, dxOff + at, p, c, scratch.coefOffset);
  }
  dgamma.set(dg);
  dbeta.set(db);
  scratch.dispose();
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
