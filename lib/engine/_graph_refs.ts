/**
 * Resolving the stage references of a spec's inputs to stage ids (private to graph.ts):
 * `obs`, `prev.fit`, `em[2].fit`, `em[-1].fit`, `em[*].evaluate`; and across the members of a sweep,
 * `em@*[-1].evaluate`, `em@*[*].evaluate`, `gauss@*` (returned marked with {@link ACROSS_MEMBERS}).
 *
 * @module
 */
import { isLoop, type LoopDecl, type Spec, type SpecIssue, suggest } from "./spec.ts";

/** The names references resolve against: top-level ids (stages and loops) and the loops. */
export interface RefScope {
  topIds: Set<string>;
  loops: Map<string, LoopDecl>;
}

/** Where a reference is written: in which loop and lap (both null at the top level). */
export interface LapOf {
  loop: LoopDecl | null;
  lap: number | null;
}

/**
 * The scope of a spec's references.
 *
 * @example
 * ```ts
 * const scope = refScope(spec); // { topIds: Set { "data", "obs", "em" }, loops: Map { "em" => … } }
 * ```
 */
export function refScope(spec: Spec): RefScope {
  const loops = new Map<string, LoopDecl>();
  for (const item of spec.items) if (isLoop(item)) loops.set(item.name, item);
  return { topIds: new Set(spec.items.map((i) => i.name)), loops };
}

type Bad = (message: string) => null;

/**
 * The mark of a resolved id that means "this stage in every member of the sweep" (`em@*[2].fit`
 * resolves to `*em[2].fit`); no stage id starts with it.
 *
 * @example
 * ```ts
 * const across = id.startsWith(ACROSS_MEMBERS);
 * ```
 */
export const ACROSS_MEMBERS = "*";

/**
 * The stage ids a reference written at `at` names, or null (with an issue at `where`).
 *
 * @example
 * ```ts
 * resolveRef("prev.fit", { loop: em, lap: 3 }, where, scope, issues); // ["em[2].fit"]
 * resolveRef("em[*].evaluate", { loop: null, lap: null }, where, scope, issues); // ["em[0].evaluate", …]
 * ```
 */
export function resolveRef(
  ref: string,
  at: LapOf,
  where: string,
  scope: RefScope,
  issues: SpecIssue[],
): string[] | null {
  const bad: Bad = (message) => {
    issues.push({ where, message });
    return null;
  };
  const across = ref.match(/^([A-Za-z_][A-Za-z0-9_-]*)@\*(\[(?:\*|-?\d+)\]\.[A-Za-z_][A-Za-z0-9_-]*)?$/);
  if (across) {
    const ids = resolveRef(`${across[1]}${across[2] ?? ""}`, { loop: null, lap: null }, where, scope, issues);
    return ids && ids.map((id) => `${ACROSS_MEMBERS}${id}`);
  }
  const prev = ref.match(/^prev\.([A-Za-z_][A-Za-z0-9_-]*)$/);
  if (prev) return resolvePrev(ref, prev[1], at, scope, bad);
  const indexed = ref.match(/^([A-Za-z_][A-Za-z0-9_-]*)\[(\*|-?\d+)\]\.([A-Za-z_][A-Za-z0-9_-]*)$/);
  if (indexed) return resolveIndexed(ref, indexed[1], indexed[2], indexed[3], scope, bad);
  return resolveName(ref, at, scope, bad);
}

/** `prev.NAME`: the body stage NAME of the previous lap, or in lap 0 what `loop.start` names. */
function resolvePrev(ref: string, name: string, at: LapOf, scope: RefScope, bad: Bad): string[] | null {
  const { topIds, loops } = scope;
  if (!at.loop) return bad(`"${ref}": prev.NAME is only meaningful inside a loop`);
  if (!at.loop.body.some((s) => s.name === name)) {
    return bad(
      `"${ref}": loop "${at.loop.name}" has no stage "${name}" ${
        suggest(
          name,
          at.loop.body.map((s) => s.name),
        )
      }`,
    );
  }
  if (at.lap! > 0) return [`${at.loop.name}[${at.lap! - 1}].${name}`];
  const start = at.loop.start[name];
  if (!start) {
    return bad(
      `"${ref}" in lap 0 of "${at.loop.name}" needs \`loop: { start: { ${name}: STAGE } }\` to say what the first lap starts from`,
    );
  }
  if (!topIds.has(start) || loops.has(start)) {
    return bad(
      `loop "${at.loop.name}" starts "${name}" from "${start}", which is not a top-level stage ${
        suggest(start, [...topIds].filter((t) => !loops.has(t)))
      }`,
    );
  }
  return [start];
}

/** `LOOP[i].NAME` (a negative i counts from the last lap) or `LOOP[*].NAME` (every lap). */
function resolveIndexed(
  ref: string,
  loopName: string,
  idx: string,
  name: string,
  scope: RefScope,
  bad: Bad,
): string[] | null {
  const loop = scope.loops.get(loopName);
  if (!loop) return bad(`"${ref}": no loop "${loopName}" ${suggest(loopName, [...scope.loops.keys()])}`);
  if (!loop.body.some((s) => s.name === name)) {
    return bad(
      `"${ref}": loop "${loopName}" has no stage "${name}" ${suggest(name, loop.body.map((s) => s.name))}`,
    );
  }
  if (idx === "*") return Array.from({ length: loop.laps }, (_, l) => `${loopName}[${l}].${name}`);
  let lap = Number(idx);
  if (lap < 0) lap += loop.laps;
  if (lap < 0 || lap >= loop.laps) {
    return bad(`"${ref}": loop "${loopName}" has ${loop.laps} laps (0..${loop.laps - 1})`);
  }
  return [`${loopName}[${lap}].${name}`];
}

/** A plain name: a stage of the same lap when the loop body has one, else a top-level stage. */
function resolveName(ref: string, at: LapOf, scope: RefScope, bad: Bad): string[] | null {
  const { topIds, loops } = scope;
  if (at.loop && at.loop.body.some((s) => s.name === ref)) return [`${at.loop.name}[${at.lap}].${ref}`];
  if (loops.has(ref)) {
    return bad(
      `"${ref}" is a loop: refer to one of its stages, e.g. ${ref}[-1].${
        loops.get(ref)!.body.at(-1)?.name
      } or ${ref}[*].${loops.get(ref)!.body.at(-1)?.name}`,
    );
  }
  if (topIds.has(ref)) return [ref];
  const known = [...topIds].filter((t) => !loops.has(t));
  if (at.loop) {
    known.push(
      ...at.loop.body.map((s) => s.name),
      ...at.loop.body.map((s) => `prev.${s.name}`),
    );
  }
  return bad(`unknown stage "${ref}" ${suggest(ref, known)}`);
}
