/**
 * Save and load a {@link TrainingState} (weights, Adam state, EMA weights, step) as a Zarr group:
 * `params/<name>`, `optimizer/step`, `optimizer/m/<name>`, `optimizer/v/<name>`, `ema/<name>`. Float32 data
 * round-trips bit for bit, so a resumed run continues exactly.
 *
 * @module
 */
import { readArray, writeArray } from "../engine/store/zarr.ts";
import type { NDArray } from "../array.ts";
import type { TrainingState } from "./train.ts";

/**
 * Write `state` as the Zarr group `dir`, replacing any previous checkpoint there. The group is written to a
 * sibling directory first and renamed into place, so an interruption never leaves a half-written checkpoint
 * at `dir` (at worst the previous one survives as `dir.old`, which the next save removes).
 *
 * @example
 * ```ts
 * await saveTrainingState(`${tmp}/model`, state);
 * ```
 */
export async function saveTrainingState(dir: string, state: TrainingState): Promise<void> {
  const partial = `${dir}.partial`, old = `${dir}.old`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  for (const [name, a] of Object.entries(state.params)) await writeArray(partial, `params/${name}`, a);
  for (const [name, a] of Object.entries(state.optimizer)) await writeArray(partial, `optimizer/${name}`, a);
  for (const [name, a] of Object.entries(state.ema ?? {})) await writeArray(partial, `ema/${name}`, a);
  await writeArray(partial, "step", { shape: [], data: Int32Array.of(state.step) });
  await Deno.remove(old, { recursive: true }).catch(() => {});
  await Deno.rename(dir, old).catch(() => {});
  await Deno.rename(partial, dir);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}

/**
 * Read a state written by {@link saveTrainingState}, for a network whose parameter names are `names`
 * (`Object.keys(net.params())`). `withEma` loads the EMA weights too.
 *
 * @example
 * ```ts
 * const state = await loadTrainingState(dir, Object.keys(net.params()), false);
 * await trainDenoiser({ ...opts, resume: state });
 * ```
 */
export async function loadTrainingState(
  dir: string,
  names: string[],
  withEma: boolean,
): Promise<TrainingState> {
  const params: Record<string, NDArray> = {};
  const optimizer: Record<string, NDArray> = {};
  for (const name of names) {
    params[name] = await readArray(dir, `params/${name}`);
    optimizer[`m/${name}`] = await readArray(dir, `optimizer/m/${name}`);
    optimizer[`v/${name}`] = await readArray(dir, `optimizer/v/${name}`);
  }
  optimizer.step = await readArray(dir, "optimizer/step");
  const step = Number((await readArray(dir, "step")).data[0]);
  const state: TrainingState = { step, params, optimizer };
  if (withEma) {
    state.ema = {};
    for (const name of names) state.ema[name] = await readArray(dir, `ema/${name}`);
  }
  return state;
}

/**
 * Read only the weights (e.g. a trained prior for sampling): `params/<name>`, or `ema/<name>` when `ema`.
 *
 * @example
 * ```ts
 * importParams(net, await loadWeights(dir, Object.keys(net.params()), true));
 * ```
 */
export async function loadWeights(
  dir: string,
  names: string[],
  ema = false,
): Promise<Record<string, NDArray>> {
  const out: Record<string, NDArray> = {};
  for (const name of names) out[name] = await readArray(dir, `${ema ? "ema" : "params"}/${name}`);
  return out;
}
