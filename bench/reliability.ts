/**
 * Reliability benchmarks: the suite's crash and fuzz harness (tests/reliability.ts) at full size.
 * Both must be 1.0; a failure is printed to stderr with its seed, moment or mutation.
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { crashResume, fuzzSpecs, type HarnessResult } from "../tests/reliability.ts";

/** Seeded kills of the crash test (the suite runs 3). */
const KILLS = 30;
/** Seeded spec mutations of the fuzzer (the suite runs 8), each given to four commands. */
const CASES = 200;

function fraction(r: HarnessResult): number {
  for (const f of r.failures) console.error(f);
  return r.ok / r.total;
}

/** The reliability benchmarks. */
export const benchmarks: Benchmark[] = [
  {
    name: "reliability.crash_resume_ok",
    unit: "",
    reps: 1,
    measure: async () => fraction(await crashResume({ seed: 1, kills: KILLS })),
  },
  {
    name: "reliability.fuzz_clean",
    unit: "",
    reps: 1,
    measure: async () => fraction(await fuzzSpecs({ seed: 1, cases: CASES })),
  },
];
