/**
 * The built-in tasks, by name. Each task file is a thin adapter: read inputs from the store,
 * call `lib/`, write outputs.
 *
 * @module
 */
import type { TaskDef } from "../lib/pipeline/task.ts";

/** Every task the `task:` field of a spec may name. */
export const builtinTasks: TaskDef[] = [];
