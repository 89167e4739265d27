/**
 * The benchmark harness: each benchmark is a named async measurement; `deno task bench [NAME…]`
 * runs the named ones (all by default, a name may be a prefix like `core.`), several repetitions
 * each, and prints one JSON line per benchmark with the median.
 *
 * @module
 */

/** One benchmark figure. */
export interface Benchmark {
  /** Dotted name, e.g. `core.mlp_train_step_ms`. */
  name: string;
  /** Unit printed with the value (`ms`, `MB/s`, `GFLOP/s`, `s`, ``). */
  unit: string;
  /** Repetitions whose median is reported (default 5). */
  reps?: number;
  /** Optional one-time preparation, not timed; its result is passed to `measure`. */
  setup?: () => Promise<unknown>;
  /** One measurement: returns the figure (the benchmark does its own timing). */
  measure: (prepared: unknown) => Promise<number>;
  /** Optional clean-up after all repetitions. */
  teardown?: (prepared: unknown) => Promise<void>;
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Run the benchmarks selected by `names` (exact names or prefixes; all when empty). */
export async function runBenchmarks(all: Benchmark[], names: string[]): Promise<void> {
  const selected = names.length === 0
    ? all
    : all.filter((b) => names.some((n) => b.name === n || b.name.startsWith(n.endsWith(".") ? n : n + ".")));
  if (selected.length === 0) {
    throw new Error(`no benchmark matches ${names.join(", ")}; known: ${all.map((b) => b.name).join(", ")}`);
  }
  for (const b of selected) {
    const prepared = b.setup ? await b.setup() : undefined;
    const values: number[] = [];
    for (let i = 0; i < (b.reps ?? 5); i++) values.push(await b.measure(prepared));
    if (b.teardown) await b.teardown(prepared);
    console.log(
      JSON.stringify({
        bench: b.name,
        value: Number(median(values).toPrecision(4)),
        unit: b.unit,
        reps: values.length,
      }),
    );
  }
}
