/**
 * What a report is made of: evaluations grouped into methods (one per EM loop, by lap) and
 * baselines (evaluations outside any loop), and the choice of laps that get corner plots.
 *
 * ```ts
 * const { methods, baselines } = groupEvaluations(evaluations);
 * const jobs = cornerJobs(methods, baselines, "auto");
 * ```
 *
 * @module
 */

/**
 * One evaluation: its stage, where the stage sits (loop and lap, or neither), and its metrics.
 *
 * ```ts
 * const e: Evaluation = { stageId: "em[3].evaluate", loop: "em", lap: 3, stage: "evaluate", metrics: {} };
 * ```
 */
export interface Evaluation {
  /** The evaluate stage's id. */
  readonly stageId: string;
  /** The EM loop the stage belongs to (one method per loop), or null for a baseline. */
  readonly loop: string | null;
  /** The stage's lap in its loop, or null for a baseline. */
  readonly lap: number | null;
  /** The stage's name in its loop's body (`evaluate`), telling several evaluations of one loop apart. */
  readonly stage: string | null;
  /** Its metrics (`sinkhorn`, `mean_error`, …). */
  readonly metrics: Record<string, unknown>;
  /** The sweep values of its stage as the id writes them (`seed=1`); "" or absent when unswept. */
  readonly member?: string;
}

/**
 * One method: the evaluations of one loop, by lap.
 *
 * ```ts
 * const m: MethodRuns<Evaluation> = { name: "em", laps: [{ lap: 0, entry }] };
 * ```
 */
export interface MethodRuns<E> {
  /** The loop's name (`loop.stage` when one loop has several evaluation stages). */
  name: string;
  /** Sorted by lap. */
  laps: { lap: number; entry: E }[];
}

/**
 * One baseline: an evaluation outside any loop, named by its stage id.
 *
 * ```ts
 * const b: Baseline<Evaluation> = { name: "gauss_eval", entry };
 * ```
 */
export interface Baseline<E> {
  name: string;
  entry: E;
}

/**
 * Evaluations grouped into methods (one per loop, laps sorted) and baselines (stages outside loops),
 * each in the order the spec lists them; a stage wired twice counts once.
 *
 * ```ts
 * const { methods, baselines } = groupEvaluations(evaluations);
 * ```
 */
export function groupEvaluations<E extends Evaluation>(
  entries: readonly E[],
): { methods: MethodRuns<E>[]; baselines: Baseline<E>[] } {
  const stagesOfLoop = new Map<string, Set<string | null>>();
  for (const e of entries) {
    if (e.loop !== null) stagesOfLoop.set(e.loop, (stagesOfLoop.get(e.loop) ?? new Set()).add(e.stage));
  }
  const methods = new Map<string, MethodRuns<E>>();
  const baselines: Baseline<E>[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.stageId)) continue; // the same stage wired twice
    seen.add(e.stageId);
    if (e.loop === null || e.lap === null) {
      baselines.push({ name: e.stageId, entry: e });
      continue;
    }
    const name = stagesOfLoop.get(e.loop)!.size > 1 ? `${e.loop}.${e.stage}` : e.loop;
    if (!methods.has(name)) methods.set(name, { name, laps: [] });
    methods.get(name)!.laps.push({ lap: e.lap, entry: e });
  }
  for (const m of methods.values()) m.laps.sort((a, b) => a.lap - b.lap);
  return { methods: [...methods.values()], baselines };
}

/**
 * Laps that get corner plots: `auto` (every lap up to 16 laps, else about 15 evenly spaced and the
 * last), `all`, `last`, or a list of lap numbers (negative counts from the end: -1 = last).
 *
 * ```ts
 * const choice: CornerLapChoice = [0, -1];
 * ```
 */
export type CornerLapChoice = "auto" | "all" | "last" | readonly number[];

/**
 * The laps that get corner plots, out of `laps` (sorted), per `choice`.
 *
 * ```ts
 * selectCornerLaps([0, 1, 2, 3], "last");     // [3]
 * selectCornerLaps([0, 1, 2, 3], [0, -1]);    // [0, 3]
 * selectCornerLaps(range(40), "auto");        // [0, 3, 6, …, 36, 39]
 * ```
 */
export function selectCornerLaps(laps: readonly number[], choice: CornerLapChoice): number[] {
  if (!laps.length) return [];
  const last = laps[laps.length - 1];
  if (choice === "all") return [...laps];
  if (choice === "last") return [last];
  if (choice === "auto") {
    if (laps.length <= 16) return [...laps];
    const every = Math.ceil(laps.length / 15);
    const out = laps.filter((_, i) => i % every === 0);
    if (out[out.length - 1] !== last) out.push(last);
    return out;
  }
  const wanted = new Set(choice.map((k) => (k < 0 ? last + 1 + k : k)));
  return laps.filter((l) => wanted.has(l));
}

/**
 * One corner plot to draw: a baseline's samples (`method` null), or a method's at one lap.
 *
 * ```ts
 * const job: CornerJob<Evaluation> = { method: "em", lap: 3, entry };
 * ```
 */
export interface CornerJob<E> {
  method: string | null;
  lap: number | null;
  entry: E;
}

/**
 * The corner plots of a report: every baseline's, then each method's at the laps `choice` selects.
 *
 * ```ts
 * cornerJobs(methods, baselines, "last"); // baselines, then each method's last lap
 * ```
 */
export function cornerJobs<E>(
  methods: readonly MethodRuns<E>[],
  baselines: readonly Baseline<E>[],
  choice: CornerLapChoice,
): CornerJob<E>[] {
  const jobs: CornerJob<E>[] = baselines.map((b) => ({ method: null, lap: null, entry: b.entry }));
  for (const m of methods) {
    const chosen = new Set(selectCornerLaps(m.laps.map((l) => l.lap), choice));
    for (const l of m.laps) if (chosen.has(l.lap)) jobs.push({ method: m.name, lap: l.lap, entry: l.entry });
  }
  return jobs;
}
