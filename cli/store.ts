/**
 * `pipeline gc` and `pipeline verify`: looking after the store — remove the entries no given spec
 * refers to; hash every entry of a spec and report damage.
 *
 * @module
 */
import { makePlan, SpecError, Store } from "../lib/engine/mod.ts";
import { type CommonOpts, loadGraph, openPlan, print } from "./_common.ts";

/**
 * `pipeline gc`: returns the exit code (0).
 *
 * @example
 * ```ts
 * await cmdGc({ file: ["pipeline.yaml", "pipeline-paper.yaml"], set: [], dryRun: true }); // would remove …
 * ```
 */
export async function cmdGc(
  opts: { file: string[]; set: string[]; dryRun?: boolean; wait?: boolean; plugins?: boolean },
): Promise<number> {
  const files = opts.file.length ? opts.file : ["pipeline.yaml"];
  const keep = new Set<string>(), keepIds = new Set<string>();
  let storeRoot: string | null = null;
  for (const f of files) {
    const graph = await loadGraph({ file: f, set: opts.set, plugins: opts.plugins });
    if (storeRoot && storeRoot !== graph.spec.store) {
      throw new SpecError([{
        where: f,
        message: `uses store ${graph.spec.store}, but ${files[0]} uses ${storeRoot}: gc one store at a time`,
      }]);
    }
    storeRoot = graph.spec.store;
    const plan = await makePlan(graph, await Store.open(graph.spec.store, { create: false }));
    for (const p of plan.stages.values()) {
      keep.add(p.key);
      keepIds.add(p.stage.id);
    }
  }
  const store = await Store.open(storeRoot!);
  const lock = opts.dryRun ? null : await store.lock("pipeline gc", { wait: opts.wait });
  try {
    // What killed processes left (temporaries, key locks) goes too.
    if (!opts.dryRun) {
      for (const d of await store.cleanDebris()) print(`removed ${d} left by a process that died`);
    }
    const { removed, bytes } = await store.gc(keep, keepIds, opts.dryRun);
    for (const r of removed) print(`${opts.dryRun ? "would remove" : "removed"} ${r}`);
    print(
      `${opts.dryRun ? "would free" : "freed"} ${
        (bytes / 1e6).toFixed(1)
      } MB; kept ${keep.size} entries referred to by ${files.join(", ")}`,
    );
  } finally {
    await lock?.release();
  }
  return 0;
}

/**
 * `pipeline verify`: returns the exit code (1 when an entry is damaged).
 *
 * @example
 * ```ts
 * const code = await cmdVerify({ file: "pipeline.yaml", set: [] }); // 56 entries intact, 0 damaged
 * ```
 */
export async function cmdVerify(opts: CommonOpts): Promise<number> {
  const plan = await openPlan(opts);
  let bad = 0, ok = 0, badCheckpoints = 0;
  const damagedIds: string[] = [];
  for (const id of plan.graph.order) {
    const p = plan.stages.get(id)!;
    const st = await plan.store.check(p.key, true);
    if (st.state === "ok") ok++;
    if (st.state === "damaged") {
      bad++;
      damagedIds.push(id);
      print(`${id}: DAMAGED (${st.reason}) ${plan.store.entryDir(p.key)}`);
    }
    for (const d of await plan.store.checkpoints(p.key).damaged()) {
      badCheckpoints++;
      print(`${id}: DAMAGED CHECKPOINT (${d.reason}) ${d.path}`);
    }
  }
  // A damaged entry that reads as cached (same sizes) is only recomputed when asked to.
  const rerun = damagedIds.map((id) => ` --force '${id}'`).join("");
  print(
    `${ok} entries intact, ${bad} damaged${bad ? ` (recompute them with: pipeline run${rerun})` : ""}` +
      (badCheckpoints
        ? `; ${badCheckpoints} damaged checkpoint${
          badCheckpoints > 1 ? "s" : ""
        } (never read: the next run of their stage discards them and redoes their work)`
        : ""),
  );
  return bad || badCheckpoints ? 1 : 0;
}
