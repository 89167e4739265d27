/**
 * Error bars of the evaluation: the mean and standard error of hand-made values (exact); subset Sinkhorn
 * divergences and moment errors equal the same solves done by hand on the documented blocks (bit for bit);
 * `evaluate` keeps the papers' single numbers whether or not its subsets cover the truth, and publishes
 * `<name>_mean` and `<name>_se` for every divergence and moment error; evaluations that read a
 * `truth-reference` skip its truth-only solves and publish the same metrics bit for bit.
 */
import { assert, assertEquals, assertMatch, assertNear, assertRejects } from "./assert.ts";
import {
  meanAndStandardError,
  momentErrors,
  sinkhornLayout,
  sinkhornOT,
  subsetMomentErrors,
  subsetSinkhorn,
} from "../lib/metrics/mod.ts";
import { evaluateTask } from "../tasks/evaluate.ts";
import { truthReferenceTask } from "../tasks/truth_reference.ts";
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

/**
 * Run `evaluate` in-process on `truth` (entry key "truth-key") and `samples`, with a `truth_reference` entry
 * when given; returns its metrics, the OT solves it made (progress ticks) and its log lines.
 */
async function evaluate(
  truth: NDArray,
  samples: NDArray,
  raw: Record<string, unknown>,
  reference?: InputEntry,
) {
  const metrics: Record<string, unknown> = {}, logs: string[] = [];
  let ticks = 0;
  const entry = (x: NDArray) =>
    ({ key: "truth-key", array: () => Promise.resolve(x) }) as unknown as InputEntry;
  const inputs: Record<string, InputEntry | undefined> = { truth: entry(truth), truth_reference: reference };
  const ctx = {
    params: evaluateTask.params.parse(raw),
    input: () => entry(samples),
    optionalInput: (name: string) => inputs[name] ?? null,
    writeArray: () => Promise.resolve(),
    metrics: (v: Record<string, unknown>) => Object.assign(metrics, v),
    log: (line: string) => logs.push(line),
    progress: { start: () => {}, tick: (k: number) => void (ticks += k) },
  } as unknown as Parameters<typeof evaluateTask.run>[0];
  await evaluateTask.run(ctx);
  return { metrics, ticks, logs };
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
    const got = (await evaluate(truth, samples, { ...params, subsets })).metrics;
    assertEquals([got.sinkhorn, got.sinkhorn_next], [paper.first - paper.ref, paper.next - paper.ref]);
    const s = subsetSinkhorn(truth, samples, m, subsets, OPTS);
    assertEquals([got.sinkhorn_mean, got.sinkhorn_se], [s.paired.mean, s.paired.se]);
    assertEquals([got.sinkhorn_next_mean, got.sinkhorn_next_se], [s.independent.mean, s.independent.se]);
    for (const name of ["mean_error", "cov_error", "cov_rel_error"]) {
      assert(Number.isFinite(got[`${name}_mean`]) && (got[`${name}_se`] as number) > 0, name);
    }
    assertEquals(got.sinkhorn_subsets, subsets);
  }
  const none = (await evaluate(truth, samples, { ...params, subsets: 0 })).metrics;
  assertEquals([none.sinkhorn, "sinkhorn_mean" in none], [paper.first - paper.ref, false]);
});

/** Run `truth-reference` in-process on `truth` (entry key `truthKey`); returns an input entry of its outputs. */
async function truthReference(truth: NDArray, truthKey: string, raw: Record<string, unknown>) {
  const docs: Record<string, unknown> = {}, meta: Record<string, unknown> = {};
  let ticks = 0;
  const ctx = {
    params: truthReferenceTask.params.parse(raw),
    input: () => ({ key: truthKey, array: () => Promise.resolve(truth) }) as unknown as InputEntry,
    writeJson: (name: string, v: unknown) =>
      Promise.resolve(void (docs[name] = JSON.parse(JSON.stringify(v)))),
    meta: (v: Record<string, unknown>) => Object.assign(meta, v),
    metrics: () => {},
    progress: { start: () => {}, tick: (k: number) => void (ticks += k) },
  } as unknown as Parameters<typeof truthReferenceTask.run>[0];
  await truthReferenceTask.run(ctx);
  const entry = { stageId: "truth_reference", meta, json: (name: string) => Promise.resolve(docs[name]) };
  return { entry: entry as unknown as InputEntry, ticks };
}

Deno.test("metrics_subsets: sinkhornLayout names the truth-only solves", () => {
  assertEquals(sinkhornLayout(400, 400, 100, 4), {
    m: 100,
    subsets: 4,
    reuse: true,
    references: [[0, 300], [100, 0], [200, 100], [300, 200]],
  });
  // Half as many samples: two subsets, and the papers' reference truth[:m] against truth[−m:] apart.
  assertEquals(sinkhornLayout(400, 200, 100, 4).references, [[0, 100], [100, 0], [0, 300]]);
  assertEquals(sinkhornLayout(400, 400, 100, 0), {
    m: 100,
    subsets: 0,
    reuse: false,
    references: [[0, 300]],
  });
});

Deno.test("metrics_subsets: evaluations share one truth-reference and keep every metric bit for bit", async () => {
  const truth = points(400, 5), m = 100;
  const params = { sinkhorn_samples: m, sinkhorn_reg: OPTS.reg, sinkhorn_maxiter: OPTS.maxiter };
  for (const subsets of [4, 3, 0]) {
    const reference = await truthReference(truth, "truth-key", { ...params, subsets });
    const layout = sinkhornLayout(400, 400, m, subsets);
    assertEquals(reference.ticks, layout.references.length);
    // Two evaluations (the samples of two laps, and a prior's 200 samples) against the one reference.
    for (const samples of [points(400, 6, 0.2), points(400, 7, 0.1), points(200, 8)]) {
      const alone = await evaluate(truth, samples, { ...params, subsets });
      const shared = await evaluate(truth, samples, { ...params, subsets }, reference.entry);
      assertEquals(shared.metrics, alone.metrics);
      // What the reference holds is not solved again: only the solves it lacks (the half-size layout's).
      const own = sinkhornLayout(400, samples.shape[0], m, subsets).references;
      const held = new Set(layout.references.map(String));
      assertEquals(alone.ticks - shared.ticks, own.filter((r) => held.has(String(r))).length);
    }
  }
});

Deno.test("metrics_subsets: a truth-reference of another truth is refused; other parameters are not used", async () => {
  const truth = points(400, 9), samples = points(400, 10, 0.2);
  const params = { sinkhorn_samples: 100, sinkhorn_reg: OPTS.reg, sinkhorn_maxiter: OPTS.maxiter };
  const other = await truthReference(truth, "other-key", params);
  await assertRejects(() => evaluate(truth, samples, params, other.entry), /another truth/);
  const coarse = await truthReference(truth, "truth-key", { ...params, sinkhorn_maxiter: 50 });
  const alone = await evaluate(truth, samples, params);
  const shared = await evaluate(truth, samples, params, coarse.entry);
  assertEquals([shared.metrics, shared.ticks], [alone.metrics, alone.ticks]);
  assertMatch(shared.logs.join("\n"), /truth_reference not used/);
});
