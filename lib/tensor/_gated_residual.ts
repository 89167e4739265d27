/**
 * The U-Net block's gated residual y = x + g ⊙ h (x, h [B, H, W, C], the gate g per image and channel, [B, C]
 * values) as two wasm kernels with the gradient attached by `tf.customGrad`: forward one pass, backward
 * one pass for dh = dy ⊙ g and dg = Σ_pixels dy ⊙ h (float64 sums); dx = dy itself. Composed of TF.js ops
 * the forward is a broadcast multiply and an add (two passes) and the backward two multiplies and a sum
 * (three). The passes are WebAssembly SIMD on the heap (lib/tensor/_wasm_simd.ts), four channels a
 * vector, for C divisible by 4; elsewhere (other C, other backends) the caller composes it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerWasmKernels } from "./_kernel_registry.ts";
import type { WasmBackendLike } from "./_blas_matmul.ts";
import { channelQuads, func, heapFunctions, HIGH_TO_LOW } from "./_wasm_simd.ts";

const FORWARD = "DiemGatedResidual";
const BACKWARD = "DiemGatedResidualGrad";

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: WasmBackendLike;
}

/** One image's passes (heap offsets in bytes; g its C gate values, acc 2C float64 per quad as [lo, hi]). */
interface GatedSimd {
  forward(x: number, h: number, y: number, pixels: number, c: number, g: number): void;
  backward(dy: number, h: number, dh: number, pixels: number, c: number, g: number, acc: number): void;
}

const FORWARD_BODY = channelQuads(`
  local.get $y  local.get $idx  i32.add
  local.get $x  local.get $idx  i32.add  v128.load
  local.get $h  local.get $idx  i32.add  v128.load  local.get $g  local.get $ch  i32.add  v128.load  f32x4.mul
  f32x4.add  v128.store`);

const BACKWARD_BODY = channelQuads(
  `
  local.get $dy  local.get $idx  i32.add  v128.load  local.set $d
  ;; dh = dy · g
  local.get $dh  local.get $idx  i32.add  local.get $d  local.get $g  local.get $ch  i32.add  v128.load  f32x4.mul
  v128.store
  ;; acc += dy · h, promoted (the quad's f64x2 pair at acc + 2·ch)
  local.get $d  local.get $h  local.get $idx  i32.add  v128.load  f32x4.mul  local.set $d
  local.get $acc  local.get $ch  i32.const 1  i32.shl  i32.add  local.tee $a
  local.get $a  v128.load  local.get $d  f64x2.promote_low_f32x4  f64x2.add  v128.store
  local.get $a  local.get $a  v128.load offset=16  local.get $d  local.get $d  ${HIGH_TO_LOW}  f64x2.promote_low_f32x4
  f64x2.add  v128.store offset=16`,
  8, // C float64 sums
);

const LOOP = ["q", "ch", "end", "cb", "idx"];

/** The SIMD passes on this backend's heap, or null where its memory is not reachable. */
const gatedSimd = heapFunctions<GatedSimd>(() => ({
  forward: func(["x", "h", "y", "pixels", "c", "g"], { i32: LOOP }, FORWARD_BODY),
  backward: func(
    ["dy", "h", "dh", "pixels", "c", "g", "acc"],
    { i32: [...LOOP, "a"], v128: ["d"] },
    BACKWARD_BODY,
  ),
}));

function offset(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.typedArrayFromHeap(t).byteOffset;
}

function forward({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x, gate, h } = inputs;
  const [b, hh, w, c] = x.shape, pixels = hh * w, bytes = 4 * pixels * c;
  const y = backend.makeOutput(x.shape, "float32");
  const simd = gatedSimd(backend)!;
  const [xo, ho, yo, go] = [x, h, y, gate].map((t) => offset(backend, t));
  for (let i = 0; i < b; i++) {
    simd.forward(xo + i * bytes, ho + i * bytes, yo + i * bytes, pixels, c, go + 4 * i * c);
  }
  return y;
}

function backward({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const { dy, gate, h } = inputs;
  const [b, hh, w, c] = dy.shape, pixels = hh * w, bytes = 4 * pixels * c;
  const dh = backend.makeOutput(dy.shape, "float32"), dg = backend.makeOutput(gate.shape, "float32");
  // C float64 sums, 8-byte aligned (a float32 of slack).
  const scratch = backend.makeOutput([2 * c + 1], "float32");
  const simd = gatedSimd(backend)!;
  const [dyo, ho, dho, go] = [dy, h, dh, gate].map((t) => offset(backend, t));
  const heap = backend.typedArrayFromHeap(scratch), dgv = backend.typedArrayFromHeap(dg);
  const acc = heap.byteOffset + (heap.byteOffset % 8 === 0 ? 0 : 4);
  const sums = new Float64Array(heap.buffer, acc, c);
  for (let i = 0; i < b; i++) {
    simd.backward(dyo + i * bytes, ho + i * bytes, dho + i * bytes, pixels, c, go + 4 * i * c, acc);
    // Quad q's lanes 0–1 at sums[4q], 2–3 at sums[4q + 2].
    for (let ch = 0; ch < c; ch++) dgv[i * c + ch] = sums[4 * (ch >> 2) + (ch & 3)];
  }
  backend.disposeData(scratch.dataId);
  return [dh, dg];
}

/**
 * Register the two kernels on the wasm backend (before it initialises). Idempotent.
 *
 * @example
 * ```ts
 * registerGatedResidualKernels();
 * ```
 */
export function registerGatedResidualKernels(): void {
  registerWasmKernels({ [FORWARD]: forward, [BACKWARD]: backward });
}

/**
 * y = x + gate ⊙ h for x, h [B, H, W, C] and a gate of B·C values ([B, 1, 1, C]), with its gradient, by the
 * fused wasm kernels; null when the backend has none (or its heap is not reachable), C is not a multiple of
 * 4 or the shapes do not fit (the caller composes it: `tf.add(x, tf.mul(gate, h))`).
 *
 * @example
 * ```ts
 * const y = fusedGatedResidual(x, gate, h) ?? tf.add(x, tf.mul(gate, h));
 * ```
 */
export function fusedGatedResidual(x: tf.Tensor4D, gate: tf.Tensor, h: tf.Tensor4D): tf.Tensor4D | null {
  if (!tf.getKernel(FORWARD, tf.getBackend()) || !gatedSimd(tf.backend() as unknown as WasmBackendLike)) {
    return null;
  }
  const [b, , , c] = x.shape;
  const float = [x, gate, h].every((t) => t.dtype === "float32");
  if (!float || c % 4 !== 0 || gate.size !== b * c || !tf.util.arraysEqual(x.shape, h.shape)) return null;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xi, gi, hi] = args as tf.Tensor[];
    save([gi, hi]);
    return {
      value: tf.engine().runKernel(FORWARD, { x: xi, gate: gi, h: hi }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dh, dg] = tf.engine().runKernel(BACKWARD, { dy, gate: saved[0], h: saved[1] }) as tf.Tensor[];
        return [tf.clone(dy), dg, dh];
      },
    };
  });
  return tf.reshape(op(x, tf.reshape(gate, [b, c]), h), x.shape) as tf.Tensor4D;
}
