/**
 * Reading what the store holds for a stage of the current spec, as a task reads its inputs, without
 * running anything and without the run lock: for views of a run in progress or a failed one
 * (`pipeline report`), which show the stages that have finished.
 *
 * @module
 */
import type { Plan } from "./plan.ts";
import type { InputEntry } from "./task.ts";
import { inputEntry } from "./_stage_context.ts";

/**
 * The published entry of stage `id` under its current key, as an input; null when the store has no
 * intact entry for it (not run yet, running, failed, or damaged).
 *
 * @example
 * ```ts
 * const plan = await makePlan(graph, await Store.open(".store", { create: false }));
 * const lap0 = await publishedEntry(plan, "em[0].evaluate"); // null until that stage has finished
 * ```
 */
export async function publishedEntry(plan: Plan, id: string): Promise<InputEntry | null> {
  const planned = plan.stages.get(id);
  if (!planned) throw new Error(`no stage "${id}" in the plan`);
  const state = await plan.store.check(planned.key);
  if (state.state !== "ok") return null;
  return inputEntry(plan, id, plan.store.reader(planned.key, state.manifest));
}
