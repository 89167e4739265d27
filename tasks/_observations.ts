/**
 * How observations live in the store, shared by every task that writes or reads them:
 *
 * ```
 * arrays/y                 [N, ...yShape] float32   the observations
 * arrays/operator/<name>   operator parameters (matrices [N, m, D], mask [N, ...xShape], kernel [K])
 * json/observations.json   { kind, config, sigma_y, n }   config rebuilds the operator family
 * ```
 *
 * @module
 */
import { type OperatorFamily, operatorFamily, type OperatorParams } from "../lib/operators/mod.ts";
import type { LinearGaussianObservations } from "../lib/gaussian/mod.ts";
import { type InputEntry, type StageContext, StageMismatchError } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

/** What `observations.json` holds. */
export interface ObservationsInfo {
  kind: string;
  /** The operator family's configuration (xShape included). */
  config: Record<string, unknown>;
  sigma_y: number;
  n: number;
}

/** Observations with their operator, ready for posterior computations. */
export interface Observations extends LinearGaussianObservations {
  info: ObservationsInfo;
}

/** Write observations as a stage output. */
export async function writeObservations(
  ctx: StageContext,
  info: ObservationsInfo,
  y: NDArray,
  params: OperatorParams,
): Promise<void> {
  await ctx.writeArray("y", y);
  for (const [name, a] of Object.entries(params)) await ctx.writeArray(`operator/${name}`, a);
  await ctx.writeJson("observations", info);
}

/** Read the observations a stage (corrupt, or dataset with source zarr) wrote. */
export async function readObservations(entry: InputEntry): Promise<Observations> {
  let info: ObservationsInfo;
  try {
    info = await entry.json<ObservationsInfo>("observations");
  } catch {
    throw new StageMismatchError(
      `stage ${entry.stageId} (task ${entry.task}) does not provide observations: wire a corrupt stage, or a dataset stage with source: zarr`,
    );
  }
  const family: OperatorFamily = operatorFamily(info.kind, info.config);
  const params: OperatorParams = {};
  for (const name of Object.keys(entry.arrays)) {
    if (name.startsWith("operator/")) params[name.slice("operator/".length)] = await entry.array(name);
  }
  family.validateParams(params, info.n);
  return { family, params, y: await entry.array("y"), sigmaY: info.sigma_y, info };
}
