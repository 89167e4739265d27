/**
 * Noise-conditioned networks on TensorFlow.js: an MLP for vectors and a U-Net for images, both
 * modulated by a sinusoidal embedding of the noise level, built from plain configurations
 * ({@link buildNet}) so that a model can be rebuilt from the store or inside a Worker.
 *
 * @example
 * ```ts
 * import { buildNet, exportParams } from "./mod.ts";
 * const net = buildNet({ kind: "mlp", features: 5, hidden: [256, 256, 256] });
 * const weights = await exportParams(net);
 * net.dispose();
 * ```
 *
 * @module
 */
export * from "./embedding.ts";
export * from "./factory.ts";
export * from "./layers.ts";
export * from "./mlp.ts";
export * from "./module.ts";
export * from "./unet.ts";
