/**
 * One way to add this project's own kernels to the wasm backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Register each kernel function on the wasm backend under its name, unless one is registered there already
 * (idempotent: the registering modules may be imported and initialised more than once per isolate).
 *
 * @example
 * ```ts
 * registerWasmKernels({ DiemAdam: adam });
 * ```
 */
export function registerWasmKernels(kernels: Record<string, unknown>): void {
  for (const [name, fn] of Object.entries(kernels)) {
    if (tf.getKernel(name, "wasm")) continue;
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as tf.KernelFunc });
  }
}
