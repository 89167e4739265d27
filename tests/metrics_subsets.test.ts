/**
 * Error bars of the evaluation: the mean and standard error of hand-made values (exact); subset Sinkhorn
 * divergences and moment errors equal the same solves done by hand on the documented blocks (bit for bit);
 * `evaluate` keeps the papers' single numbers whether or not its subsets cover the truth, and publishes
 * `<name>_mean` and `<name>_se` for every divergence and moment error.
 */
import { assert, assertEquals, assertNear } from "./assert.ts";
import {
  meanAndStandardError,
  momentErrors,
  sinkhornOT,
  subsetMomentErrors,
  subsetSinkhorn,
} from "../lib/metrics/mod.ts";
import { evaluateTask } from "../tasks/evaluate.ts";
import { type NDArray, sliceRows } from "../lib/array.ts";
import { Rng } from "../lib/random.ts";
import type { InputEntry } from "../lib/engine/mod.ts";

function points(n: number, seed: number, shift = 0): NDArray<Float32Array> {
  const data = new Float32Array(n * 2);
  Rng.fromSeed(seed).fillNormal(data);
  return { shape: [n, 2], data: data.map((v) => v + shift) };
}
const OPTS = { reg: 1e-2, maxiter: 100 };

Deno.test("metrics_subsets: mean and standard error", () => {
  const s = meanAndStandardError([1, 2, 3, 6]);
  assertEquals(s.mean, 3);
  // sample variance (4 + 1 + 0 + 9) / 3 = 14/3, se = √(14/3 / 4)
  assertNear(s.se, Math.sqrt(14 / 12), 1e-15);
  assert(Number.isNaN(meanAndStandardError([1]).se), "no se from one subset");
});

Deno.test("metrics_subsets: subset divergences and moment errors are the documented blocks", () => {
  const truth = points(400, 1), samples = points(400, 2, 0.3), m = 100;
  const block = (a: NDArray, r: number) => sliceRows(a, ((r + 4) % 4) * m, ((r + 4) % 4 + 1) * m);
  const s = subsetSinkhorn(truth, samples, m, 4, OPTS);
  for (let r = 0; r < 4; r++) {
    const ref = sinkhornOT(block(truth, r), block(truth, r - 1), OPTS).cost;
    assertEquals(s.paired.values[r], sinkhornOT(block(truth, r), block(samples, r), OPTS).cost - ref);
    assertEquals(
      s.independent.values[r],
      sinkhornOT(block(truth, r), block(samples, r + 1), OPTS).cost - ref,
    );
  }
  assertEquals(s.paired.mean, meanAndStandardError(s.paired.values).mean);
  assert(s.paired.mean > 0.05, `shifted samples are far: ${s.paired.mean}`);
  const e = subsetMomentErrors(truth, samples, m, 4);
  assertEquals(
    e.meanError.values,
    [0, 1, 2, 3].map((r) => momentErrors(block(samples, r), block(truth, r)).meanError),
  );
  assertNear(e.meanError.mean, 0.3 * Math.SQRT2, 0.15);
});

/** Run `evaluate` in-process on `truth` and `samples`; returns its metrics. */
async function evaluate(truth: NDArray, samples: NDArray, raw: Record<string, unknown>) {
  const metrics: Record<string, unknown> = {};
  const entry = (x: NDArray) => ({ array: () => Promise.resolve(x) }) as unknown as InputEntry;
  const ctx = {
    params: evaluateTask.params.parse(raw),
    input: () => entry(samples),
    optionalInput: (name: string) => (name === "truth" ? entry(truth) : null),
    writeArray: () => Promise.resolve(),
    metrics: (v: Record<string, unknown>) => Object.assign(metrics, v),
    progress: { start: () => {}, tick: () => {} },
  } as unknown as Parameters<typeof evaluateTask.run>[0];
  await evaluateTask.run(ctx);
  return metrics;
}

Deno.test("metrics_subsets: evaluate keeps the papers' numbers and adds mean ± se", async () => {
  const truth = points(400, 3), samples = points(400, 4, 0.2), m = 100;
  const paper = {
    ref: sinkhornOT(sliceRows(truth, 0, m), sliceRows(truth, 300, 400), OPTS).cost,
    first: sinkhornOT(sliceRows(truth, 0, m), sliceRows(samples, 0, m), OPTS).cost,
    next: sinkhornOT(sliceRows(truth, 0, m), sliceRows(samples, m, 2 * m), OPTS).cost,
  };
  const params = { sinkhorn_samples: m, sinkhorn_reg: OPTS.reg, sinkhorn_maxiter: OPTS.maxiter };
  // 4 subsets cover the truth (subset 0 is the papers' configuration); 3 do not (separate solves).
  for (const subsets of [4, 3]) {
    const got = await evaluate(truth, samples, { ...params, subsets });
    assertEquals([got.sinkhorn, got.sinkhorn_next], [paper.first - paper.ref, paper.next - paper.ref]);
    const s = subsetSinkhorn(truth, samples, m, subsets, OPTS);
    assertEquals([got.sinkhorn_mean, got.sinkhorn_se], [s.paired.mean, s.paired.se]);
    assertEquals([got.sinkhorn_next_mean, got.sinkhorn_next_se], [s.independent.mean, s.independent.se]);
    for (const name of ["mean_error", "cov_error", "cov_rel_error"]) {
      assert(Number.isFinite(got[`${name}_mean`]) && (got[`${name}_se`] as number) > 0, name);
    }
    assertEquals(got.sinkhorn_subsets, subsets);
  }
  const none = await evaluate(truth, samples, { ...params, subsets: 0 });
  assertEquals([none.sinkhorn, "sinkhorn_mean" in none], [paper.first - paper.ref, false]);
});
