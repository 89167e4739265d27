/**
 * Rebuild a network from its `config` (as recorded in metadata and checkpoints): the way a Worker or a later
 * stage gets the same architecture back.
 *
 * Private to lib/nn; import from `mod.ts`.
 *
 * @module
 */
import type { NoiseConditionedNet } from "./_module.ts";
import { MLP, type MLPConfig } from "./_mlp.ts";
import { UNet, type UNetConfig } from "./_unet.ts";

/** A network description: `{kind: "mlp", ...MLPConfig}` or `{kind: "unet", ...UNetConfig}`. */
export type NetConfig = ({ kind: "mlp" } & MLPConfig) | ({ kind: "unet" } & UNetConfig);

/**
 * Build a network of the given config, initialised from `seed`.
 *
 * @example
 * ```ts
 * const net = buildNet({ kind: "mlp", features: 5 }, 0);
 * const twin = buildNet(net.config as NetConfig, 0);
 * ```
 */
export function buildNet(config: NetConfig | Record<string, unknown>, seed = 0): NoiseConditionedNet {
  const c = config as NetConfig;
  if (c.kind === "mlp") return new MLP(c, seed);
  if (c.kind === "unet") return new UNet(c, seed);
  throw new Error(`buildNet: unknown network kind ${(config as { kind?: unknown }).kind}`);
}
