/**
 * Which network a training task builds and how it trains it, decided by the samples' event shape unless
 * the spec says otherwise: vectors `[D]` get the MLP with a linearly decaying lr 1e-3 and no EMA (the
 * manifold settings), images `[H, W, C]` the U-Net (lib/nn/_unet.ts, NHWC) with a constant lr 2e-4 and an
 * EMA of the weights (decay 0.999), as both papers train their image models.
 *
 * @module
 */
import { z } from "zod";
import { numel } from "../lib/array.ts";
import { StageMismatchError } from "../lib/engine/mod.ts";
import type { NetConfig } from "../lib/nn/mod.ts";

const positiveInt = z.number().int().positive();

/**
 * The `network` parameter of a training task: `{ kind: mlp, hidden, embedding }` or
 * `{ kind: unet, features, blocks_per_level, embedding, groups }`, each field with its default.
 *
 * @example
 * ```ts
 * networkSpec.parse({ kind: "unet", features: [16, 32] }); // blocks_per_level 2, embedding 64, groups 8
 * ```
 */
export const networkSpec = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("mlp"),
    /** Hidden widths. */
    hidden: z.array(positiveInt.max(1e5)).min(1).default([256, 256, 256]),
    /** Features of the noise embedding. */
    embedding: positiveInt.max(1e5).default(64),
  }).strict(),
  z.object({
    kind: z.literal("unet"),
    /** Feature channels per resolution (each level halves the image). */
    features: z.array(positiveInt.max(1e5)).min(1).default([32, 64, 64]),
    /** Residual blocks per resolution, down and up. */
    blocks_per_level: positiveInt.max(64).default(2),
    /** Features of the noise embedding. */
    embedding: positiveInt.max(1e5).default(64),
    /** GroupNorm groups (must divide every entry of `features`). */
    groups: positiveInt.max(1e5).default(8),
  }).strict(),
]);

/**
 * A parsed {@link networkSpec}.
 *
 * @example
 * ```ts
 * const spec: NetworkSpec = { kind: "mlp", hidden: [256, 256, 256], embedding: 64 };
 * ```
 */
export type NetworkSpec = z.output<typeof networkSpec>;

/** Whether `eventShape` is an image `[H, W, C]` (else a vector `[D]`; anything else is refused). */
export function isImageShape(eventShape: readonly number[]): boolean {
  if (eventShape.length === 1) return false;
  if (eventShape.length === 3) return true;
  throw new StageMismatchError(
    `samples have event shape [${eventShape}]: training takes vectors [D] or images [H, W, C]`,
  );
}

/**
 * The training settings of samples of `eventShape`: the spec's where it gave them, else the defaults for
 * vectors or for images (see the module comment).
 *
 * @example
 * ```ts
 * resolveTraining({}, [8, 8, 1]);
 * // { network: { kind: "unet", … }, lr: 2e-4, lrSchedule: "constant", emaDecay: 0.999 }
 * ```
 */
export function resolveTraining(
  p: { network?: NetworkSpec; lr?: number; lr_schedule?: "linear" | "constant"; ema_decay?: number },
  eventShape: readonly number[],
): { network: NetworkSpec; lr: number; lrSchedule: "linear" | "constant"; emaDecay: number | undefined } {
  const image = isImageShape(eventShape);
  return {
    network: p.network ?? networkSpec.parse({ kind: image ? "unet" : "mlp" }),
    lr: p.lr ?? (image ? 2e-4 : 1e-3),
    lrSchedule: p.lr_schedule ?? (image ? "constant" : "linear"),
    emaDecay: p.ema_decay ?? (image ? 0.999 : undefined),
  };
}

/**
 * The network configuration of `spec` for samples of `eventShape`; `condition` adds a conditional input:
 * `features` per row for the MLP (layout `vector`), `channels` per pixel for the U-Net (layout `channels`).
 * Throws when the kind does not fit the shape (an MLP takes vectors, a U-Net images).
 *
 * @example
 * ```ts
 * const net = buildNet(networkConfig(spec, [8, 8, 1], { channels: 2, features: 128 }), seed);
 * ```
 */
export function networkConfig(
  spec: NetworkSpec,
  eventShape: readonly number[],
  condition?: { features: number; channels?: number },
): NetConfig {
  const image = isImageShape(eventShape);
  if (spec.kind === "mlp") {
    if (image) {
      throw new StageMismatchError(
        `network kind mlp takes vectors; the samples are images [${eventShape}]: use network: { kind: unet }`,
      );
    }
    return {
      kind: "mlp",
      features: numel(eventShape),
      hidden: spec.hidden,
      embeddingFeatures: spec.embedding,
      ...(condition ? { conditionFeatures: condition.features } : {}),
    };
  }
  if (!image) {
    throw new StageMismatchError(
      `network kind unet takes images [H, W, C]; the samples are vectors [${eventShape}]: use network: { kind: mlp }`,
    );
  }
  if (condition && condition.channels === undefined) {
    throw new Error("a conditional U-Net needs its condition as image channels (layout channels)");
  }
  const [height, width, channels] = eventShape;
  return {
    kind: "unet",
    height,
    width,
    channels,
    features: spec.features,
    blocksPerLevel: spec.blocks_per_level,
    embeddingFeatures: spec.embedding,
    groups: spec.groups,
    ...(condition ? { conditionChannels: condition.channels } : {}),
  };
}
