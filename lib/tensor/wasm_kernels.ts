/**
 * Kernel patches for the TF.js wasm backend, registered before it initialises.
 *
 * 1. `BatchMatMul` and `_FusedMatMul`: XNNPACK is used only when neither operand is transposed; the transposed
 *    forms (every matmul's backprop) fall back to a loop ~15–20× slower. The patch materialises the transposed
 *    operand with the fast `Transpose` kernel and multiplies on the fast path.
 * 2. `Conv2DBackpropFilter` is missing on wasm (conv nets cannot train). It is written as ONE forward convolution:
 *    batch and channel axes of the padded input swapped, dy used as the filter with dilation = stride.
 * 3. `Conv2DBackpropInput` is a naive loop on wasm (~1.6 GFLOP/s). It is written as a 'valid' forward
 *    convolution of the zero-dilated, padded dy with the spatially flipped, in/out-swapped filter.
 *
 * 4. `Sum` and `Mean` of float32 tensors reduce in one pass without transposing (lib/tensor/_reduce.ts);
 *    `Identity` and same-dtype `Cast` share their input's data instead of copying it; group normalisation
 *    has fused kernels (lib/tensor/_group_norm.ts), as has the U-Net block's gated residual
 *    (lib/tensor/_gated_residual.ts), and so have the MLP's LayerNorm∘SiLU
 *    (lib/tensor/_layer_norm.ts), its dense layer with a per-input gradient (lib/tensor/_linear.ts), and
 *    Adam's whole step over all variables (lib/tensor/_adam.ts); the sinusoidal noise embedding is one
 *    kernel (lib/tensor/_embedding.ts); float32 `Concat` and `SplitV` copy runs on the heap
 *    (lib/tensor/_concat.ts).
 * 5. With a BLAS ({@link registerBlasKernels}): the matmul and conv kernels (`FusedConv2D` with a bias and no
 *    activation too) call `cblas_sgemm` on the wasm heap, and the pixel sums of NHWC activations (conv bias and
 *    gate gradients) `cblas_sgemv`; the kernels above remain their fallbacks.
 *
 * Kernels 2 and 3 are composed of ordinary `tf.*` ops: inside a kernel the engine does not record them on the
 * gradient tape, and `tf.tidy` frees their intermediates. Each patch is tested against the `cpu` backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import type { Blas } from "./_blas.ts";
import { blasBatchMatMul, blasFusedMatMul, type BlasKernel } from "./_blas_matmul.ts";
import { blasConvKernels } from "./_blas_conv.ts";
import { blasSum } from "./_blas_reduce.ts";
import { reductionKernels } from "./_reduce.ts";
import { copyKernels } from "./_concat.ts";
import { registerGroupNormKernels } from "./_group_norm.ts";
import { registerGatedResidualKernels } from "./_gated_residual.ts";
import { registerLayerNormKernels } from "./_layer_norm.ts";
import { registerLinearKernel } from "./_linear.ts";
import { registerAdamKernel } from "./_adam.ts";
import { registerEmbeddingKernel } from "./_embedding.ts";

type Attrs = Record<string, unknown>;
interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  attrs: Attrs;
  backend: tf.KernelBackend & { disposeData(id: tf.DataId): boolean };
}
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

let registered = false;

/** Perm that swaps the last two axes of a tensor of rank `rank`. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** Wrap a matmul kernel so that transposed operands are materialised first. */
function untransposingMatMul(original: Kernel, transpose: Kernel): Kernel {
  return (args) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original(args);
    const temps: tf.TensorInfo[] = [];
    const materialise = (t: tf.TensorInfo): tf.TensorInfo => {
      const r = transpose({
        inputs: { x: t },
        attrs: { perm: swapLastTwo(t.shape.length) },
        backend: args.backend,
      });
      const out = Array.isArray(r) ? r[0] : r;
      temps.push(out);
      return out;
    };
    const inputs = { ...args.inputs };
    if (transposeA) inputs.a = materialise(inputs.a);
    if (transposeB) inputs.b = materialise(inputs.b);
    try {
      return original({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) args.backend.disposeData(t.dataId);
    }
  };
}

/** Conv2D parameters shared by the two backprop kernels. */
function convParams(attrs: Attrs, xShape: number[], filterShape: number[]) {
  const { strides, pad, dimRoundingMode, dataFormat } = attrs as {
    strides: number | [number, number];
    pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: "floor" | "round" | "ceil";
    dataFormat?: "NHWC" | "NCHW";
  };
  if (dataFormat && dataFormat !== "NHWC") {
    throw new Error(`wasm conv backprop patch: dataFormat ${dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xpad[b, oh·s+kh, ow·s+kw, ci] · dy[b,oh,ow,co], computed as a 'valid'
 * convolution of xpad viewed as [Ci, Hp, Wp, B] with dy viewed as a filter [OH, OW, B, Co] dilated by s.
 */
function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
  const filterShape = args.attrs.filterShape as [number, number, number, number];
  const info = convParams(args.attrs, x.shape, filterShape);
  const { top, bottom, left, right } = info.padInfo;
  return tf.tidy(() => {
    const xs = asTensor(x) as tf.Tensor4D;
    const dys = asTensor(dy) as tf.Tensor4D;
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    // Padding beyond what the filter reaches is harmless: the result is cropped to [KH, KW].
    const xpad = tf.pad(xs, [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]]);
    const input = tf.transpose(xpad, [3, 1, 2, 0]); // [Ci, Hp, Wp, B]
    const filter = tf.transpose(dys, [1, 2, 0, 3]); // [OH, OW, B, Co]
    const full = tf.conv2d(input, filter, 1, "valid", "NHWC", [info.strideHeight, info.strideWidth]);
    const cropped = tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]); // [Ci, KH, KW, Co]
    return tf.transpose(cropped, [1, 2, 0, 3]);
  });
}

/**
 * dx = 'valid' convolution of dy (zero-dilated by the stride, padded by KH−1−top) with the filter flipped in
 * space and with in/out channels swapped.
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
  const inputShape = args.attrs.inputShape as [number, number, number, number];
  const info = convParams(args.attrs, inputShape, filter.shape);
  const [, inH, inW] = inputShape;
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  return tf.tidy(() => {
    let d = asTensor(dy) as tf.Tensor4D;
    const [b, oh, ow, co] = d.shape;
    if (sh > 1 || sw > 1) {
      // Zero-dilate: [B, OH, 1, OW, 1, Co] padded to [B, OH, sh, OW, sw, Co], then trimmed to (OH−1)·sh+1.
      const r = tf.reshape(d, [b, oh, 1, ow, 1, co]);
      const p = tf.pad(r, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
      const dilated = tf.reshape(p, [b, oh * sh, ow * sw, co]) as tf.Tensor4D;
      d = tf.slice(dilated, [0, 0, 0, 0], [-1, (oh - 1) * sh + 1, (ow - 1) * sw + 1, -1]);
    }
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = inH + kh - 1 - d.shape[1] - padTop;
    const padRight = inW + kw - 1 - d.shape[2] - padLeft;
    let padded = tf.pad(d, [[0, 0], [Math.max(0, padTop), Math.max(0, padBottom)], [
      Math.max(0, padLeft),
      Math.max(0, padRight),
    ], [0, 0]]);
    if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
      padded = tf.slice(padded, [0, Math.max(0, -padTop), Math.max(0, -padLeft), 0], [
        -1,
        inH + kh - 1,
        inW + kw - 1,
        -1,
      ]);
    }
    const flipped = tf.transpose(tf.reverse(asTensor(filter) as tf.Tensor4D, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(padded as tf.Tensor4D, flipped as tf.Tensor4D, 1, "valid");
  });
}

/**
 * The output of `Identity` (and of a `Cast` to the same dtype) as the input's data with one more
 * reference, as the cpu backend does, instead of a copy: the engine clones every tensor it saves for
 * the backward pass, 755 full copies per U-Net training step. Kernels never write into their inputs,
 * so sharing is safe. Null for strings (the original kernel handles them).
 */
function shareData(args: KernelArgs): tf.TensorInfo | null {
  const x = args.inputs.x;
  if (x.dtype === "string") return null;
  (args.backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** A kernel input as a tf.Tensor (inputs reach kernels as Tensors when called through the engine). */
function asTensor(t: tf.TensorInfo): tf.Tensor {
  if (t instanceof tf.Tensor) return t;
  throw new Error("wasm kernel patch: expected a Tensor input");
}

/** Replace the wasm kernel `name` by `make(original)`, keeping the original's setup and dispose functions. */
function wrapWasmKernel(name: string, make: (original: Kernel) => Kernel): void {
  const original = tf.getKernel(name, "wasm");
  if (!original) throw new Error(`wasm backend has no ${name} kernel`);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: make(original.kernelFunc as unknown as Kernel) as unknown as tf.KernelFunc,
  });
}

/**
 * Re-register the patched wasm kernels. Must run before `tf.setBackend("wasm")` first initialises the backend,
 * because TF.js calls kernel setup functions only then. Idempotent.
 *
 * @example
 * ```ts
 * registerWasmKernelPatches();
 * await tf.setBackend("wasm");
 * ```
 */
export function registerWasmKernelPatches(): void {
  if (registered) return;
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!transpose) throw new Error("wasm backend is not loaded: no Transpose kernel");
  for (const name of ["BatchMatMul", "_FusedMatMul"]) {
    wrapWasmKernel(
      name,
      (original) => untransposingMatMul(original, transpose.kernelFunc as unknown as Kernel),
    );
  }
  const reductions = reductionKernels({
    Sum: tf.getKernel("Sum", "wasm")!.kernelFunc as unknown as BlasKernel,
    Mean: tf.getKernel("Mean", "wasm")!.kernelFunc as unknown as BlasKernel,
  });
  const copies = copyKernels({
    Concat: tf.getKernel("Concat", "wasm")!.kernelFunc as unknown as BlasKernel,
    SplitV: tf.getKernel("SplitV", "wasm")!.kernelFunc as unknown as BlasKernel,
  });
  const replacements: Record<string, (original: Kernel) => Kernel> = {
    Sum: () => reductions.Sum as unknown as Kernel,
    Concat: () => copies.Concat as unknown as Kernel,
    SplitV: () => copies.SplitV as unknown as Kernel,
    Mean: () => reductions.Mean as unknown as Kernel,
    Identity: (original) => (args) => shareData(args) ?? original(args),
    Cast: (original) => (args) =>
      (args.inputs.x.dtype === args.attrs.dtype ? shareData(args) : null) ?? original(args),
  };
  for (const [name, make] of Object.entries(replacements)) wrapWasmKernel(name, make);
  registerGroupNormKernels();
  registerGatedResidualKernels();
  registerLayerNormKernels();
  registerLinearKernel();
  registerAdamKernel();
  registerEmbeddingKernel();
  const composite: [string, Kernel][] = [
    ["Conv2DBackpropFilter", conv2DBackpropFilter],
    ["Conv2DBackpropInput", conv2DBackpropInput],
  ];
  for (const [name, fn] of composite) {
    if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
  registered = true;
}

let blasRegistered: string | null = null;

/**
 * Replace the wasm backend's GEMM-shaped kernels (`BatchMatMul`, `_FusedMatMul`, `Conv2D`,
 * `Conv2DBackpropInput`, `Conv2DBackpropFilter`) and the pixel sums of `Sum` by ones that call the platform's BLAS
 * (lib/tensor/_blas.ts) on the wasm heap in place; each keeps the kernel it replaces (patched or
 * not) for the cases it does not cover, and that kernel's setup function. Call after
 * {@link registerWasmKernelPatches} and before the wasm backend initialises. Idempotent.
 *
 * @example
 * ```ts
 * registerWasmKernelPatches();
 * const { blas } = loadBlas();
 * if (blas) registerBlasKernels(blas);
 * await tf.setBackend("wasm");
 * ```
 */
export function registerBlasKernels(blas: Blas): void {
  if (blasRegistered !== null) {
    if (blasRegistered !== blas.name) throw new Error(`BLAS kernels already use ${blasRegistered}`);
    return;
  }
  const names = [
    "BatchMatMul",
    "_FusedMatMul",
    "Conv2D",
    "FusedConv2D",
    "Conv2DBackpropInput",
    "Conv2DBackpropFilter",
    "Sum",
  ];
  const originals: Record<string, tf.KernelConfig> = {};
  for (const name of names) {
    const k = tf.getKernel(name, "wasm");
    if (!k) throw new Error(`wasm backend has no ${name} kernel`);
    originals[name] = k;
  }
  const kernelOf = (name: string) => originals[name].kernelFunc as unknown as BlasKernel;
  const replacements: Record<string, BlasKernel> = {
    BatchMatMul: blasBatchMatMul(blas, kernelOf("BatchMatMul")),
    _FusedMatMul: blasFusedMatMul(blas, kernelOf("_FusedMatMul")),
    ...blasConvKernels(blas, Object.fromEntries(names.map((n) => [n, kernelOf(n)]))),
    Sum: blasSum(blas, kernelOf("Sum")),
  };
  for (const name of names) wrapWasmKernel(name, () => replacements[name] as unknown as Kernel);
  blasRegistered = blas.name;
}
