/**
 * `pipeline tasks`: the tasks a spec can use, with their versions (and, with `--json`, their
 * inputs and parameter schemas).
 *
 * @module
 */
import { builtinTasks } from "../tasks/mod.ts";
import { print } from "./_common.ts";

/**
 * `pipeline tasks`: returns the exit code (0).
 *
 * @example
 * ```ts
 * cmdTasks({ json: false }); // dataset            v1  …
 * ```
 */
export function cmdTasks(opts: { json?: boolean }): number {
  const list = builtinTasks.map((t) => ({
    name: t.name,
    version: t.version,
    description: t.description,
    inputs: t.inputs,
    params: (t.params as unknown as { toJSONSchema?: () => unknown }).toJSONSchema?.() ?? null,
  }));
  if (opts.json) print(JSON.stringify(list, null, 1));
  else for (const t of list) print(`${t.name.padEnd(18)} v${t.version}  ${t.description}`);
  return 0;
}
