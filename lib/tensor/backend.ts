/**
 * Backend selection for TensorFlow.js in Deno: `auto | webgpu | wasm | cpu`.
 *
 * - `wasm` is the fast path on a CPU (XNNPACK, SIMD). Its holes are patched by {@link registerWasmKernelPatches}
 *   before the backend initialises (kernel setup functions run only at initialisation). Where the platform has a
 *   BLAS (lib/tensor/_blas.ts: OpenBLAS, MKL, BLIS, Accelerate; `DIEM_BLAS` names one or turns it off), its
 *   matmul and conv kernels call `cblas_sgemm` on the wasm heap ({@link registerBlasKernels}), on
 *   {@link setBlasThreads} threads (all cores; cores / Workers inside a {@link WorkerPool}'s Workers).
 * - `webgpu` is the path on a real GPU. `auto` takes it only when the adapter is a hardware GPU: a fallback or
 *   software adapter (llvmpipe, SwiftShader, lavapipe) is 10–30× slower than wasm on this kind of machine.
 * - `cpu` is the pure-JS reference the patched kernels are tested against.
 *
 * Gradients are not this module's business: whatever differentiates takes `grad`/`variableGrads` from
 * `gradients.ts`, which registers TF.js's gradient definitions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerBlasKernels, registerWasmKernelPatches } from "./wasm_kernels.ts";
import { loadBlas } from "./_blas.ts";

/** What the caller asks for. */
export type BackendChoice = "auto" | "webgpu" | "wasm" | "cpu";

/** What was chosen: recorded in every stage's metadata. */
export interface BackendInfo {
  /** The TF.js backend in use: `webgpu`, `wasm` or `cpu`. */
  backend: "webgpu" | "wasm" | "cpu";
  /** The GPU adapter's description for `webgpu` (e.g. `"NVIDIA RTX 4090"`), else null. */
  adapter: string | null;
  /** One human-readable line: backend, adapter or wasm features, threads, BLAS. */
  detail: string;
  /** The BLAS behind the wasm matmul/conv kernels and its threads in this isolate, or null (wasm kernels). */
  blas: { name: string; threads: number | null } | null;
}

let current: { choice: BackendChoice; info: BackendInfo } | null = null;
let pending: Promise<BackendInfo> | null = null;

/** Directory (as a path, with trailing slash) of the wasm backend's `.wasm` files in node_modules. */
function wasmDirectory(): string {
  // import.meta.resolve gives the package's main file wherever Deno installed it (node_modules/.deno/…).
  const main = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  const dir = new URL("./", main);
  // In Node mode the wasm backend reads the file with fs, so it wants a path, not a file:// URL.
  return decodeURIComponent(dir.pathname);
}

interface GpuAdapterLike {
  info?: { description?: string; vendor?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/**
 * Describe the WebGPU adapter, or null when there is none. `hardware` is false for fallback and software
 * adapters (llvmpipe, SwiftShader, lavapipe), which `auto` does not use.
 *
 * @example
 * ```ts
 * const gpu = await probeGpuAdapter(); // { description: "llvmpipe (LLVM 15.0.6, 256 bits)", hardware: false }
 * ```
 */
export async function probeGpuAdapter(): Promise<{ description: string; hardware: boolean } | null> {
  const gpu =
    (navigator as unknown as { gpu?: { requestAdapter(o?: unknown): Promise<GpuAdapterLike | null> } })
      .gpu;
  if (!gpu) return null;
  let adapter: GpuAdapterLike | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info ?? {};
  const description = info.description || `vendor ${info.vendor ?? "?"} device ${info.device ?? "?"}`;
  const fallback = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  const software = /llvmpipe|lavapipe|swiftshader|software|basic render/i.test(description);
  return { description, hardware: !fallback && !software };
}

async function activate(choice: BackendChoice): Promise<BackendInfo> {
  let target: "webgpu" | "wasm" | "cpu";
  let adapter: string | null = null;
  if (choice === "auto" || choice === "webgpu") {
    const probe = await probeGpuAdapter();
    if (choice === "webgpu") {
      if (!probe) {
        throw new Error("backend webgpu: no WebGPU adapter (navigator.gpu is missing or returned none)");
      }
      target = "webgpu";
      adapter = probe.description;
    } else if (probe?.hardware) {
      target = "webgpu";
      adapter = probe.description;
    } else {
      target = "wasm";
    }
  } else {
    target = choice;
  }

  let blasNote = "";
  if (target === "wasm") {
    registerWasmKernelPatches();
    const { blas, note } = loadBlas();
    if (blas) registerBlasKernels(blas);
    blasNote = note;
    setWasmPaths(wasmDirectory());
  } else if (target === "webgpu") {
    // Loaded on demand: it is large and only useful with a GPU.
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  const ok = await tf.setBackend(target);
  if (!ok) throw new Error(`backend ${target}: TF.js failed to initialise it`);
  await tf.ready();
  if (target === "cpu") {
    // The cpu backend prints a "use tfjs-node" banner on first use when it thinks it runs in Node.
    (tf.findBackend("cpu") as unknown as { firstUse?: boolean }).firstUse = false;
  }

  let detail: string;
  if (target === "wasm") {
    const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
    const blas = loadBlas().blas;
    const threads = blas?.threads();
    detail = `wasm (${simd ? "SIMD" : "no SIMD"}, 1 thread, patched kernels; ${blasNote}${
      threads ? `, ${threads} BLAS thread${threads > 1 ? "s" : ""}` : ""
    })`;
  } else if (target === "webgpu") {
    detail = `webgpu on ${adapter}`;
  } else {
    detail = "cpu (pure JavaScript reference)";
  }
  const blas = target === "wasm" ? loadBlas().blas : null;
  return {
    backend: target,
    adapter,
    detail,
    blas: blas ? { name: blas.name, threads: blas.threads() } : null,
  };
}

/**
 * Threads the BLAS kernels of this isolate use (default: all cores). A {@link WorkerPool} sets
 * cores / Workers in each Worker so that shards running side by side do not oversubscribe the cores.
 * No-op without a BLAS (or before one is loaded by the wasm backend).
 *
 * @example
 * ```ts
 * setBlasThreads(1); // one BLAS thread per call from here on
 * ```
 */
export function setBlasThreads(threads: number): void {
  const { blas } = loadBlas();
  blas?.setThreads(threads);
  if (current?.info.blas) current.info.blas.threads = blas?.threads() ?? null;
}

/**
 * Select and initialise the TF.js backend. Calling again with the same choice is a no-op that returns the same
 * info; a different choice switches backends (tensors move lazily, as TF.js does).
 *
 * @example
 * ```ts
 * const info = await initBackend("auto");
 * console.error(`backend: ${info.detail}`);
 * ```
 */
export async function initBackend(choice: BackendChoice = "auto"): Promise<BackendInfo> {
  // Serialise concurrent calls: two setBackend calls racing would initialise twice.
  while (pending) await pending.catch(() => {});
  if (current && current.choice === choice && tf.getBackend() === current.info.backend) return current.info;
  pending = activate(choice);
  try {
    const info = await pending;
    current = { choice, info };
    return info;
  } finally {
    pending = null;
  }
}

export { tf };
