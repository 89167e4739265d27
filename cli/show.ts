/**
 * `pipeline show <id>`: one stage's params, key, inputs, outputs, metrics and timings.
 *
 * @module
 */
import { formatDuration } from "../lib/engine/mod.ts";
import { checkIds, type CommonOpts, openPlan, print } from "./_common.ts";

/**
 * `pipeline show <id>`: returns the exit code (0).
 *
 * @example
 * ```ts
 * await cmdShow("em[3].fit", { file: "pipeline.yaml", set: [] });
 * ```
 */
export async function cmdShow(id: string, opts: CommonOpts & { json?: boolean }): Promise<number> {
  const plan = await openPlan(opts);
  [id] = checkIds(plan.graph, [id], "show");
  const p = plan.stages.get(id)!;
  const st = await plan.store.check(p.key);
  const m = st.state === "ok" ? st.manifest : null;
  const info = {
    id,
    task: p.stage.task.name,
    version: p.stage.task.version,
    description: p.stage.task.description,
    status: p.status,
    reasons: p.reasons,
    key: p.key,
    seed: p.stage.seed,
    params: p.stage.params,
    inputs: Object.fromEntries(
      Object.entries(p.stage.inputs).map((
        [k, ids],
      ) => [k, ids.map((d) => ({ stage: d, key: plan.stages.get(d)!.key }))]),
    ),
    entry: m ? plan.store.entryDir(p.key) : null,
    outputs: m ? { arrays: m.arrays, json: m.json, files: m.files } : null,
    metrics: m?.metrics ?? null,
    meta: m?.meta ?? null,
    resources: p.stage.resources,
    checkpoints: p.checkpoints,
  };
  if (opts.json) {
    print(JSON.stringify(info, null, 1));
    return 0;
  }
  print(`${id}  (task ${info.task} v${info.version}: ${info.description})`);
  print(`  status   ${info.status}${info.reasons.length ? ` — ${info.reasons.join("; ")}` : ""}`);
  print(`  key      ${info.key}`);
  print(`  seed     ${info.seed}`);
  print(`  params   ${JSON.stringify(info.params)}`);
  for (const [k, v] of Object.entries(info.inputs)) {
    print(`  input    ${k} ← ${v.map((x) => `${x.stage} (${x.key.slice(0, 12)})`).join(", ")}`);
  }
  if (m) {
    print(`  entry    ${info.entry}`);
    for (const [k, a] of Object.entries(m.arrays)) {
      print(`  array    ${k} ${a.dtype}[${a.shape.join(", ")}] chunks [${a.chunks.join(", ")}]`);
    }
    for (const k of m.json) print(`  json     ${k}`);
    for (const k of m.files) print(`  file     ${k}`);
    for (const [k, v] of Object.entries(m.metrics)) {
      print(`  metric   ${k} = ${typeof v === "number" ? Number(v.toPrecision(6)) : JSON.stringify(v)}`);
    }
    const meta = m.meta as Record<string, unknown>;
    print(
      `  ran      ${meta.started} → ${meta.finished} (${
        formatDuration(Number(meta.seconds))
      }) on ${meta.host}`,
    );
    const rest = Object.entries(meta).filter(([k]) =>
      !["started", "finished", "seconds", "host", "pid"].includes(k)
    );
    for (const [k, v] of rest) print(`  meta     ${k} = ${JSON.stringify(v)}`);
  }
  return 0;
}
