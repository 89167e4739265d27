/**
 * Noise-conditioned networks on TensorFlow.js: an MLP for vectors and a U-Net for images, both
 * modulated by a sinusoidal embedding of the noise level, built from plain configurations
 * ({@link buildNet}) so that a model can be rebuilt from the store or inside a Worker; and the
 * evaluator's small image classifier ({@link Classifier}), whose penultimate features the Fréchet
 * distance compares.
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
export { Classifier, type ClassifierConfig, classifyImages } from "./_classifier.ts";
export { sinusoidalEmbedding } from "./_embedding.ts";
export { buildNet, type NetConfig } from "./_factory.ts";
export { MLP, type MLPConfig } from "./_mlp.ts";
export { exportParams, importParams, type Module, type NoiseConditionedNet } from "./_module.ts";
export { UNet, type UNetConfig } from "./_unet.ts";
