/**
 * `deno task bench [NAME…]`: run the named benchmarks (all by default; a prefix like `engine`
 * selects a group) and print one JSON object per line with the median of several repetitions.
 *
 * @module
 */
import { type Benchmark, runBenchmarks } from "./harness.ts";
import { benchmarks as core } from "./core.ts";
import { benchmarks as diem } from "./diem.ts";
import { benchmarks as diffem } from "./diffem.ts";
import { benchmarks as engine } from "./engine.ts";
import { benchmarks as images } from "./images.ts";
import { benchmarks as reliability } from "./reliability.ts";
import { benchmarks as report } from "./report.ts";

const all: Benchmark[] = [...engine, ...core, ...diem, ...diffem, ...report, ...reliability, ...images];

if (import.meta.main) {
  try {
    await runBenchmarks(all, Deno.args);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
  Deno.exit(0);
}
