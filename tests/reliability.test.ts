/**
 * The reliability harness at CI size (the benchmarks `reliability.*` run it large): seeded kills
 * of a small pipeline resume to identical outputs; seeded spec mutations end cleanly.
 */
import { assertEquals } from "./assert.ts";
import { crashResume, fuzzSpecs } from "./reliability.ts";

/** Kills and fuzz cases in the suite (the benchmarks take more; override with env for a longer run). */
const KILLS = Number(Deno.env.get("RELIABILITY_KILLS") ?? 3);
const CASES = Number(Deno.env.get("RELIABILITY_CASES") ?? 8);

Deno.test(`a small pipeline SIGKILLed at ${KILLS} seeded random moments resumes to byte-identical outputs`, async () => {
  const r = await crashResume({ seed: 2026, kills: KILLS });
  assertEquals(r.failures, []);
  assertEquals(r.ok, KILLS);
});

Deno.test(`${CASES} seeded mutations of the shipped specs end cleanly (exit 0/1/2, a message, no stack trace)`, async () => {
  const r = await fuzzSpecs({ seed: 2026, cases: CASES });
  assertEquals(r.failures, []);
});
