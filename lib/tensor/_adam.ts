/**
 * One Adam step over all of a model's variables as ONE wasm kernel (`DiemAdam`): the global gradient norm
 * (float64), the clipping scale, and for every variable m ← β₁m + (1−β₁)g', v ← β₂v + (1−β₂)g'²,
 * p ← p − stepSize · m / (√v / √bc₂ + ε) with g' = g · scale, in one pass over each variable (WebAssembly SIMD
 * on the heap, four values at a time in float32, the norm's sum in float64; a scalar loop for the last n mod 4
 * values and where the heap's memory is not reachable). Composed of TF.js
 * ops the same step is ~12 kernels per variable plus the norm (≈ 190 kernel calls for the MLP, each with the
 * engine's bookkeeping, on tensors of at most 65 536 values: the dispatch, not the arithmetic, was the cost).
 * The caller (lib/training/optim.ts) assigns the new values to its variables.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";
import { forLoop, func, heapFunctions, HIGH_TO_LOW } from "./_wasm_simd.ts";

const KERNEL = "DiemAdam";

/** The scalars of one step. */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  sqrtBc2: number;
  /** Clip the global gradient norm to this (Infinity: no clipping). */
  clipNorm: number;
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Record<string, unknown>;
  backend: WasmBackendLike;
}

/** The per-value loops as WebAssembly SIMD on the heap (lib/tensor/_wasm_simd.ts), over n (a multiple of 4). */
interface AdamSimd {
  /** f64x2 at `out` += Σ g² over g[0 .. n) (float64, two lanes). */
  sumSquares(g: number, n: number, out: number): void;
  /** The update of {@link adam} with the f32x4 constants at k: scale, β₁, 1 − β₁, β₂, 1 − β₂, stepSize, √bc₂, ε. */
  update(
    p: number,
    m: number,
    v: number,
    g: number,
    p1: number,
    m1: number,
    v1: number,
    n: number,
    k: number,
  ): void;
}

const SUM_SQUARES = `
  local.get $n  i32.const 2  i32.shl  local.get $g  i32.add  local.set $end
  local.get $out  v128.load  local.set $acc
  ${
  forLoop(
    "i",
    "local.get $g",
    "end",
    "i32.const 16",
    `local.get $i  v128.load  local.tee $x  f64x2.promote_low_f32x4  local.tee $lo  local.get $lo  f64x2.mul
    local.get $x  local.get $x  ${HIGH_TO_LOW}  f64x2.promote_low_f32x4
    local.tee $hi  local.get $hi  f64x2.mul  f64x2.add  local.get $acc  f64x2.add  local.set $acc`,
  )
}
  local.get $out  local.get $acc  v128.store`;

const UPDATE = `
  local.get $n  i32.const 2  i32.shl  local.set $end
  ${
  forLoop(
    "i",
    "i32.const 0",
    "end",
    "i32.const 16",
    `;; gs = g · scale; m1 = β₁ m + (1 − β₁) gs; v1 = β₂ v + (1 − β₂) gs²
    local.get $g  local.get $i  i32.add  v128.load  local.get $k  v128.load  f32x4.mul  local.set $gs
    local.get $m1  local.get $i  i32.add
    local.get $m  local.get $i  i32.add  v128.load  local.get $k  v128.load offset=16  f32x4.mul
    local.get $gs  local.get $k  v128.load offset=32  f32x4.mul  f32x4.add  local.tee $mj  v128.store
    local.get $v1  local.get $i  i32.add
    local.get $v  local.get $i  i32.add  v128.load  local.get $k  v128.load offset=48  f32x4.mul
    local.get $gs  local.get $k  v128.load offset=64  f32x4.mul  local.get $gs  f32x4.mul  f32x4.add  local.tee $vj
    v128.store
    ;; p1 = p − stepSize · m1 / (√v1 / √bc₂ + ε)
    local.get $p1  local.get $i  i32.add
    local.get $p  local.get $i  i32.add  v128.load
    local.get $k  v128.load offset=80  local.get $mj  f32x4.mul
    local.get $vj  f32x4.sqrt  local.get $k  v128.load offset=96  f32x4.div  local.get $k  v128.load offset=112  f32x4.add
    f32x4.div  f32x4.sub  v128.store`,
  )
}`;

/** The SIMD loops on this backend's heap, or null where its memory is not reachable (the scalar loops). */
const adamSimd = heapFunctions<AdamSimd>(() => ({
  sumSquares: func(["g", "n", "out"], { i32: ["i", "end"], v128: ["x", "lo", "hi", "acc"] }, SUM_SQUARES),
  update: func(
    ["p", "m", "v", "g", "p1", "m1", "v1", "n", "k"],
    { i32: ["i", "end"], v128: ["gs", "mj", "vj"] },
    UPDATE,
  ),
}));

function adam({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo[] {
  const { count, beta1, beta2, eps, stepSize, sqrtBc2, clipNorm } = attrs as unknown as
    & AdamStepScalars
    & { count: number };
  const out: tf.TensorInfo[] = [];
  for (let i = 0; i < count; i++) {
    for (const slot of ["p", "m", "v"]) out.push(backend.makeOutput(inputs[`${slot}${i}`].shape, "float32"));
  }
  const normOut = backend.makeOutput([], "float32");
  const simd = adamSimd(backend);
  // 8 f32x4 constants and two f64 (the SIMD sums), 16-byte aligned within.
  const scratch = simd ? backend.makeOutput([48], "float32") : null;
  // Views after every allocation: an allocation can grow (and move) the heap.
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t);
  const heap = scratch ? view(scratch) : null;
  const base = heap ? heap.byteOffset + ((16 - (heap.byteOffset % 16)) % 16) : 0;
  // The SIMD loops take each variable's first ⌊n/4⌋·4 values, the scalar ones the rest.
  const quads = (n: number) => simd ? n - (n % 4) : 0;
  let sumSquares = 0;
  if (simd) {
    const sums = new Float64Array(heap!.buffer, base + 128, 2);
    sums.fill(0);
    for (let i = 0; i < count; i++) {
      const g = view(inputs[`g${i}`]);
      simd.sumSquares(g.byteOffset, quads(g.length), base + 128);
    }
    sumSquares = sums[0] + sums[1];
  }
  for (let i = 0; i < count; i++) {
    const g = view(inputs[`g${i}`]);
    let s = 0;
    for (let j = quads(g.length); j < g.length; j++) s += g[j] * g[j];
    sumSquares += s;
  }
  // In float32 like the composed step: norm, then min(1, c / (norm + 1e-6)).
  const norm = Math.fround(Math.sqrt(sumSquares));
  view(normOut)[0] = norm;
  const scale = Number.isFinite(clipNorm) ? Math.min(1, Math.fround(clipNorm / Math.fround(norm + 1e-6))) : 1;
  const a1 = 1 - beta1, a2 = 1 - beta2;
  if (simd) {
    const k = new Float32Array(heap!.buffer, base, 32);
    [scale, beta1, a1, beta2, a2, stepSize, sqrtBc2, eps].forEach((c, i) => k.fill(c, 4 * i, 4 * i + 4));
  }
  for (let i = 0; i < count; i++) {
    const p = view(inputs[`p${i}`]), m = view(inputs[`m${i}`]), v = view(inputs[`v${i}`]);
    const g = view(inputs[`g${i}`]);
    const p1 = view(out[3 * i]), m1 = view(out[3 * i + 1]), v1 = view(out[3 * i + 2]);
    const offsets = [p, m, v, g, p1, m1, v1].map((a) => a.byteOffset);
    simd?.update(
      offsets[0],
      offsets[1],
      offsets[2],
      offsets[3],
      offsets[4],
      offsets[5],
      offsets[6],
      quads(p.length),
      base,
    );
    for (let j = quads(p.length); j < p.length; j++) {
      const gj = g[j] * scale;
      const mj = beta1 * m[j] + a1 * gj, vj = beta2 * v[j] + a2 * gj * gj;
      m1[j] = mj;
      v1[j] = vj;
      p1[j] = p[j] - stepSize * mj / (Math.sqrt(vj) / sqrtBc2 + eps);
    }
  }
  if (scratch) backend.disposeData(scratch.dataId);
  return [...out, normOut];
}

/**
 * Register `DiemAdam` on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerAdamKernel();
 * ```
 */
export function registerAdamKernel(): void {
  registerWasmKernels({ [KERNEL]: adam });
}

/**
 * One clipped Adam step (see {@link AdamStepScalars}) over parallel lists of parameters, first and second
 * moments and gradients, by the fused wasm kernel: the new parameters and moments (new tensors, for the
 * caller to assign) and the global gradient norm before clipping; null when the current backend has no such
 * kernel or a tensor is not float32 (the caller composes the step from TF.js ops).
 *
 * @example
 * ```ts
 * const r = fusedAdamStep(ps, ms, vs, gs, { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize, sqrtBc2, clipNorm: 1 });
 * ```
 */
export function fusedAdamStep(
  params: tf.Tensor[],
  m: tf.Tensor[],
  v: tf.Tensor[],
  grads: tf.Tensor[],
  scalars: AdamStepScalars,
): { params: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[]; norm: tf.Scalar } | null {
  if (!tf.getKernel(KERNEL, tf.getBackend())) return null;
  const inputs: tf.NamedTensorMap = {};
  for (let i = 0; i < params.length; i++) {
    const four = [params[i], m[i], v[i], grads[i]];
    if (four.some((t) => t.dtype !== "float32" || !tf.util.arraysEqual(t.shape, params[i].shape))) {
      return null;
    }
    [inputs[`p${i}`], inputs[`m${i}`], inputs[`v${i}`], inputs[`g${i}`]] = four;
  }
  const attrs = { count: params.length, ...scalars };
  const out = tf.engine().runKernel(KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const pick = (k: number) => params.map((_, i) => out[3 * i + k]);
  return { params: pick(0), m: pick(1), v: pick(2), norm: out[out.length - 1] as tf.Scalar };
}
