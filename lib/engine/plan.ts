/**
 * Graph + store → plan: each stage's content key, whether the store has it, and if not, why.
 *
 * A key hashes the task name and version, the canonical parameters, the seed and the keys of the
 * inputs, so it is known before anything runs and changes exactly when something that determines
 * the outputs changes (Merkle-style: a changed stage changes the keys of everything downstream).
 *
 * @module
 */
import type { Graph, Stage } from "./graph.ts";
import { canonicalJson, sha256 } from "./store/hash.ts";
import type { StageRef, Store } from "./store/store.ts";

/** `cached`: in the store and intact; `stale`: computed before with other inputs/params, or damaged; `missing`: never computed. */
export type StageStatus = "cached" | "stale" | "missing";

/** A stage with its key and status. */
export interface PlannedStage {
  stage: Stage;
  key: string;
  /** Input name → key(s) (a list for list inputs). */
  inputKeys: Record<string, string | string[]>;
  status: StageStatus;
  /** Why it is stale or missing (empty when cached). */
  reasons: string[];
  /** Set when the entry exists but failed its check. */
  damaged?: string;
  /** Checkpoint slots a rerun will resume from. */
  checkpoints: string[];
}

/** The whole plan. */
export interface Plan {
  graph: Graph;
  store: Store;
  stages: Map<string, PlannedStage>;
}

/** The key of a stage given its inputs' keys. */
function stageKey(
  stage: Stage,
  inputKeys: Record<string, string | string[]>,
  external: string | null = null,
): string {
  return sha256(canonicalJson({
    task: stage.task.name,
    version: stage.task.version,
    params: stage.params,
    seed: stage.seed,
    inputs: inputKeys,
    external,
  })).slice(0, 32);
}

/**
 * Compute keys and statuses. Entries are checked cheaply (manifest digest and file sizes); the
 * runner hashes in full the entries it is about to read.
 *
 * @example
 * ```ts
 * const plan = await makePlan(graph, store);
 * for (const p of plan.stages.values()) console.log(p.stage.id, p.status, p.reasons.join("; "));
 * ```
 */
export async function makePlan(graph: Graph, store: Store): Promise<Plan> {
  const stages = new Map<string, PlannedStage>();
  const keyOf = (id: string) => stages.get(id)!.key;
  // Fingerprints of files outside the store (user data), then keys in order, then store checks.
  const external = new Map<string, string>();
  await Promise.all(graph.order.map(async (id) => {
    const s = graph.stages.get(id)!;
    if (s.task.fingerprint) external.set(id, await s.task.fingerprint(s.params, graph.spec.dir));
  }));
  for (const id of graph.order) {
    const stage = graph.stages.get(id)!;
    const inputKeys: Record<string, string | string[]> = {};
    for (const [name, ids] of Object.entries(stage.inputs)) {
      inputKeys[name] = stage.task.inputs[name]?.list ? ids.map(keyOf) : keyOf(ids[0]);
    }
    stages.set(id, {
      stage,
      key: stageKey(stage, inputKeys, external.get(id) ?? null),
      inputKeys,
      status: "missing",
      reasons: [],
      checkpoints: [],
    });
  }
  // Every stage's cache state first: a stale stage's reasons name its upstream stages that are not cached.
  const states = new Map(
    await Promise.all([...stages.values()].map(async (p) => [p, await store.check(p.key)] as const)),
  );
  for (const [p, st] of states) if (st.state === "ok") p.status = "cached";
  await Promise.all(
    [...stages.values()].filter((p) => p.status !== "cached").map(async (p) => {
      const st = states.get(p)!;
      const ref = await store.readRef(p.stage.id);
      p.checkpoints = await store.checkpoints(p.key).list();
      if (st.state === "damaged") {
        p.status = "stale";
        p.damaged = st.reason;
        p.reasons.push(`store entry is damaged (${st.reason}): it will be quarantined and recomputed`);
      } else if (ref === null) {
        p.status = "missing";
        p.reasons.push("never computed");
      } else if (ref.key === p.key) {
        p.status = "stale";
        p.reasons.push("its store entry was removed (gc, or quarantined as damaged)");
      } else {
        p.status = "stale";
        p.reasons.push(...explainChange(p, ref, stages));
      }
      if (p.checkpoints.length) p.reasons.push(`will resume from checkpoint (${p.checkpoints.join(", ")})`);
    }),
  );
  return { graph, store, stages };
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "unset" : s.length > 40 ? s.slice(0, 37) + "..." : s;
}

function explainChange(p: PlannedStage, ref: StageRef, stages: Map<string, PlannedStage>): string[] {
  const out: string[] = [];
  const s = p.stage;
  if (ref.task !== s.task.name) out.push(`task changed: ${ref.task} → ${s.task.name}`);
  else if (ref.version !== s.task.version) {
    out.push(`task ${s.task.name} version changed: ${ref.version} → ${s.task.version}`);
  }
  const keys = new Set([...Object.keys(ref.params), ...Object.keys(s.params)]);
  const changed = [...keys].sort().filter((k) =>
    canonicalJson(ref.params[k] ?? null) !== canonicalJson(s.params[k] ?? null)
  );
  if (changed.length) {
    out.push(
      `params changed: ${
        changed.map((k) => `${k} ${short(ref.params[k])} → ${short(s.params[k])}`).join(", ")
      }`,
    );
  }
  if (ref.seed !== s.seed) out.push(`seed changed: ${ref.seed} → ${s.seed}`);
  for (const [name, key] of Object.entries(p.inputKeys)) {
    if (canonicalJson(ref.inputs[name] ?? null) === canonicalJson(key)) continue;
    const ups = s.inputs[name].filter((id) => stages.get(id)!.status !== "cached");
    out.push(
      ups.length
        ? `input ${name} changed (upstream ${ups.join(", ")} ${ups.length > 1 ? "are" : "is"} not cached)`
        : `input ${name} now comes from other outputs (${s.inputs[name].join(", ")})`,
    );
  }
  for (const name of Object.keys(ref.inputs)) if (!(name in p.inputKeys)) out.push(`input ${name} removed`);
  if (out.length === 0) out.push("key changed");
  return out;
}

/** Which stages a run executes. */
export interface Selection {
  /** Stage ids to run, in topological order. */
  run: string[];
  /** Stage ids forced to rerun although cached. */
  forced: Set<string>;
}

/**
 * Choose what to run: everything not cached, limited to `until` and its ancestors when given,
 * plus `force` and its descendants (rerun although cached).
 *
 * @example
 * ```ts
 * const { run, forced } = selectStages(plan, { until: ["em[1].fit"], force: ["obs"] });
 * ```
 */
export function selectStages(plan: Plan, opts: { until?: string[]; force?: string[] } = {}): Selection {
  const { graph } = plan;
  let scope: Set<string> | null = null;
  if (opts.until?.length) {
    scope = new Set();
    const add = (id: string) => {
      if (scope!.has(id)) return;
      scope!.add(id);
      for (const deps of Object.values(graph.stages.get(id)!.inputs)) deps.forEach(add);
    };
    opts.until.forEach(add);
  }
  const forced = new Set<string>();
  const addForced = (id: string) => {
    if (forced.has(id)) return;
    forced.add(id);
    graph.dependents.get(id)!.forEach(addForced);
  };
  (opts.force ?? []).forEach(addForced);
  const run = graph.order.filter((id) =>
    (scope === null || scope.has(id)) && (plan.stages.get(id)!.status !== "cached" || forced.has(id))
  );
  return { run, forced: new Set([...forced].filter((id) => scope === null || scope.has(id))) };
}
