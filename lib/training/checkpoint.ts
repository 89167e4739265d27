/**
 * The one checkpoint layout of a training run: a {@link TrainingState} (weights, Adam state, EMA weights,
 * step) as flat named arrays `params/<name>`, `optimizer/<name>`, `ema/<name>` plus the step, for any
 * store of named arrays (the pipeline's checkpoint slots, a Zarr group). Float32 data round-trips bit for
 * bit, so a resumed run continues exactly.
 *
 * @module
 */
import type { NDArray } from "../array.ts";
import type { TrainingState } from "./train.ts";

/**
 * The arrays of a training state, named by the layout.
 *
 * @example
 * ```ts
 * await ctx.checkpoints.save("train", { step: state.step }, trainingCheckpoint(state));
 * ```
 */
export function trainingCheckpoint(state: TrainingState): Record<string, NDArray> {
  return {
    ...prefixed("params", state.params),
    ...prefixed("optimizer", state.optimizer),
    ...(state.ema ? prefixed("ema", state.ema) : {}),
  };
}

/**
 * The training state saved by {@link trainingCheckpoint} at `step`; `withEma` when the run keeps an EMA.
 *
 * @example
 * ```ts
 * const saved = await ctx.checkpoints.load("train");
 * const resume = saved && trainingStateFrom(saved.state.step as number, saved.arrays, emaDecay !== undefined);
 * ```
 */
export function trainingStateFrom(
  step: number,
  arrays: Record<string, NDArray>,
  withEma: boolean,
): TrainingState {
  return {
    step,
    params: unprefixed("params", arrays),
    optimizer: unprefixed("optimizer", arrays),
    ema: withEma ? unprefixed("ema", arrays) : undefined,
  };
}

function prefixed(prefix: string, arrays: Record<string, NDArray>): Record<string, NDArray> {
  return Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${prefix}/${k}`, v]));
}

function unprefixed(prefix: string, arrays: Record<string, NDArray>): Record<string, NDArray> {
  return Object.fromEntries(
    Object.entries(arrays).filter(([k]) => k.startsWith(prefix + "/")).map((
      [k, v],
    ) => [k.slice(prefix.length + 1), v]),
  );
}
