/**
 * `pipeline export ID [ARRAY…] --to PATH [--format zarr-v2|zarr-v3|npy]`: a stage's arrays out of
 * the store as plain files, with the stage's metadata (stage, key, task, params, seed, inputs,
 * metrics) beside them. Reads the entry only: it takes no lock and runs nothing.
 *
 * @module
 */
import { SpecError } from "../lib/engine/mod.ts";
import { type ExportArray, exportArrays, type ExportFormat } from "../lib/export/mod.ts";
import { checkIds, type CommonOpts, openPlan, print, userPath } from "./_common.ts";

/** Options of `pipeline export`. `{ file: "pipeline.yaml", set: [], to: "out.zarr", format: "zarr-v2" }` */
export interface ExportOpts extends CommonOpts {
  to: string;
  format: ExportFormat;
}

/**
 * `pipeline export`: returns the exit code (0; 2 for an unknown stage or array, 1 when the stage has
 * no entry in the store or the target exists).
 *
 * @example
 * ```ts
 * await cmdExport("em[3].sample", ["samples"], { file: "pipeline.yaml", set: [], to: "s.zarr", format: "zarr-v2" });
 * ```
 */
export async function cmdExport(id: string, names: string[], opts: ExportOpts): Promise<number> {
  const plan = await openPlan(opts);
  [id] = checkIds(plan.graph, [id], "export");
  const p = plan.stages.get(id)!;
  const st = await plan.store.check(p.key);
  if (st.state !== "ok") {
    console.error(
      `stage ${id} has no entry in the store (${p.status}${
        st.state === "damaged" ? ", damaged" : ""
      }): run it first (deno task pipeline run --until ${id})`,
    );
    return 1;
  }
  const m = st.manifest;
  const available = Object.keys(m.arrays);
  for (const name of names) {
    if (!available.includes(name)) {
      throw new SpecError([{
        where: `export ${id} ${name}`,
        message: `stage "${id}" has no array "${name}" (has: ${available.join(", ") || "none"})`,
      }]);
    }
  }
  const reader = plan.store.reader(p.key, m);
  const arrays: Record<string, ExportArray> = {};
  for (const name of names.length ? names : available) {
    arrays[name] = { array: await reader.array(name), chunks: m.arrays[name].chunks };
  }
  const metadata = {
    stage: id,
    key: m.key,
    task: m.task,
    version: m.version,
    params: m.params,
    seed: m.seed,
    inputs: m.inputs,
    metrics: m.metrics,
    meta: m.meta,
    arrays: Object.fromEntries(Object.keys(arrays).map((k) => [k, m.arrays[k]])),
  };
  const to = userPath(opts.to);
  try {
    await exportArrays(to, arrays, metadata, opts.format);
  } catch (e) {
    console.error(`export ${id}: ${(e as Error).message}`);
    return 1;
  }
  print(`exported ${Object.keys(arrays).join(", ") || "no arrays"} of ${id} to ${to} (${opts.format})`);
  return 0;
}
