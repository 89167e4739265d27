import { runBenchmarks } from "./bench/harness.ts";
import { benchmarks } from "./bench/core.ts";
await runBenchmarks(benchmarks, Deno.args);
