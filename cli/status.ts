/**
 * `pipeline status`: every stage of the spec, cached | stale | missing and why, with where the
 * stages a (detached) Slurm run left in the queue stand.
 *
 * @module
 */
import { type Plan, type QueuedStage, queuedStages } from "../lib/engine/mod.ts";
import { type CommonOpts, openPlan, print } from "./_common.ts";

/**
 * `pipeline status`: returns the exit code (0).
 *
 * @example
 * ```ts
 * await cmdStatus({ file: "pipeline.yaml", set: [], json: true }); // {"spec": …, "store": …, "stages": [ … ]}
 * ```
 */
export async function cmdStatus(opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  // Stages a (detached) Slurm run left in the queue: asked of Slurm only when there are any.
  const uncached = [...plan.stages.values()].filter((p) => p.status !== "cached").map((p) => p.key);
  const queued = await queuedStages(plan.store.root, uncached);
  const onSlurm = (q: QueuedStage | undefined) =>
    !q
      ? null
      : q.state === "unknown"
      ? `submitted to slurm as job ${q.record.job} (state unknown: ${q.error})`
      : q.state === "ended"
      ? `slurm job ${q.record.job} ended without publishing (log ${plan.store.root}/logs/${q.record.key}.${q.record.job}.err)`
      : `${q.state} on slurm (job ${q.record.job}${
        q.record.arrayJob ? `, shards: job array ${q.record.arrayJob}` : ""
      })`;
  const warnings = await cachedWarnings(plan);
  const rows = plan.graph.order.map((id) => {
    const p = plan.stages.get(id)!;
    const q = queued.get(p.key);
    const slurm = onSlurm(q);
    return {
      id,
      task: p.stage.task.name,
      status: p.status,
      key: p.key,
      reasons: slurm ? [slurm, ...p.reasons] : p.reasons,
      checkpoints: p.checkpoints,
      warnings: warnings.get(id) ?? [],
      ...(q ? { slurm: { job: q.record.job, arrayJob: q.record.arrayJob ?? null, state: q.state } } : {}),
    };
  });
  if (opts.json) {
    print(
      JSON.stringify({ spec: plan.graph.spec.file, store: plan.graph.spec.store, stages: rows }, null, 1),
    );
    return 0;
  }
  const w = Math.max(8, ...rows.map((r) => r.id.length)) + 2;
  print(`${"stage".padEnd(w)}${"task".padEnd(18)}${"status".padEnd(9)}${"key".padEnd(14)}why`);
  for (const r of rows) {
    const shown = r.slurm && (r.slurm.state === "queued" || r.slurm.state === "running")
      ? r.slurm.state
      : r.status;
    print(
      `${r.id.padEnd(w)}${r.task.padEnd(18)}${shown.padEnd(9)}${r.key.slice(0, 12).padEnd(14)}${
        r.reasons.join("; ")
      }`,
    );
    for (const warning of r.warnings) print(`${"".padEnd(w)}warning: ${warning}`);
  }
  const n = (s: string) => rows.filter((r) => r.status === s).length;
  const live = rows.filter((r) => r.slurm?.state === "queued" || r.slurm?.state === "running").length;
  print(
    `\n${n("cached")} cached, ${n("stale")} stale, ${n("missing")} missing${
      live ? ` (${live} of them queued or running on slurm)` : ""
    } (store ${plan.graph.spec.store})`,
  );
  return 0;
}

/**
 * The warnings a cached stage published with its result (`meta.warnings`, e.g. a Gaussian EM that
 * stopped unconverged), by stage id: a cached result is reused, so its caveats must stay visible.
 */
async function cachedWarnings(plan: Plan): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [id, p] of plan.stages) {
    if (p.status !== "cached") continue;
    const warnings = (await plan.store.manifest(p.key)).meta.warnings;
    if (Array.isArray(warnings) && warnings.length) out.set(id, warnings.map(String));
  }
  return out;
}
