/**
 * The numerical backend of a stage: chosen from the spec (`backend:`), initialised once per
 * process, printed, and recorded in the stage's metadata.
 *
 * @module
 */
import { type BackendChoice, type BackendInfo, initBackend } from "../lib/tensor/mod.ts";
import type { StageContext } from "../lib/engine/mod.ts";

/** Initialise the spec's backend for this stage and record which one runs it. */
export async function useBackend(ctx: StageContext): Promise<BackendInfo> {
  const info = await initBackend(ctx.backend as BackendChoice);
  ctx.meta({ backend: info.backend, adapter: info.adapter, backend_detail: info.detail, blas: info.blas });
  ctx.log(`backend: ${info.detail}`);
  return info;
}
