/**
 * Network configurations small enough for tests.
 *
 * @module
 */
import type { UNetConfig } from "../lib/nn/mod.ts";

/** An 8×8×1 U-Net with three resolutions and one block per level: seconds to build, run and differentiate. */
export const SMALL_UNET: UNetConfig = {
  height: 8,
  width: 8,
  channels: 1,
  features: [8, 16, 16],
  blocksPerLevel: 1,
  groups: 4,
  embeddingFeatures: 16,
};
