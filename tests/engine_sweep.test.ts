/**
 * Sweeps over seeds and parameters: a swept spec expands into one stage per member where the swept
 * values touch it and one shared stage where they do not; ids are stable as values are added; the
 * run computes the shared stages once; bad sweeps are errors naming their place.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, FIXTURES, ranStages, scratch, show, statuses } from "./cli_helpers.ts";
import { buildGraph, parseSpec, SpecError, type TaskRegistry } from "../lib/engine/mod.ts";
import { tasks } from "./fixtures/tasks.ts";

const registry: TaskRegistry = new Map(tasks.map((t) => [t.name, t]));

/** A tiny EM-shaped spec: a source, a scaled start, a 2-lap loop swept by `sweep`, a sum over members. */
function spec(sweep: string, extra = ""): string {
  return `store: store
seed: 7
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 16 } }
  b: { task: fx-scale, inputs: { x: a }, params: { factor: 3 } }
  em:
    loop: { laps: 2, start: { walk: b } }
    ${sweep}
    stages:
      walk: { task: fx-steps, inputs: { x: prev.walk }, params: { steps: 6, every: 2 } }
  last: { task: fx-scale, inputs: { x: "em[-1].walk" } }
  total: { task: fx-sum, inputs: { xs: "em@*[*].walk" } }
${extra}`;
}

const assertNotEquals = (a: unknown, b: unknown, what = "") =>
  assert(JSON.stringify(a) !== JSON.stringify(b), `expected different values ${what}: ${JSON.stringify(a)}`);

const graphOf = (yaml: string) => buildGraph(parseSpec(yaml, "/work/sweep.yaml"), registry);

function errorsOf(yaml: string): string {
  try {
    graphOf(yaml);
  } catch (e) {
    assert(e instanceof SpecError, `expected a SpecError, got ${e}`);
    return e.message;
  }
  throw new Error("expected the spec to be rejected");
}

Deno.test("a seed sweep on a loop: one stage per member inside, shared stages outside, references per member", () => {
  const g = graphOf(spec("sweep: { seed: [0, 1] }"));
  assertEquals(g.order, [
    "a",
    "b",
    "em@seed=0[0].walk",
    "em@seed=0[1].walk",
    "last@seed=0",
    "em@seed=1[0].walk",
    "em@seed=1[1].walk",
    "total",
    "last@seed=1",
  ]);
  assertEquals(g.stages.get("em@seed=1[0].walk")!.inputs.x, ["b"]);
  assertEquals(g.stages.get("em@seed=1[1].walk")!.inputs.x, ["em@seed=1[0].walk"]);
  assertEquals(g.stages.get("last@seed=1")!.inputs.x, ["em@seed=1[1].walk"]);
  assertEquals(g.stages.get("total")!.inputs.xs, [
    "em@seed=0[0].walk",
    "em@seed=1[0].walk",
    "em@seed=0[1].walk",
    "em@seed=1[1].walk",
  ]);
  assertEquals(g.stages.get("em@seed=1[0].walk")!.sweep, { seed: 1 });
  assertEquals(g.stages.get("em@seed=1[0].walk")!.member, "seed=1");
  assertEquals(g.stages.get("total")!.member, "");
  assertNotEquals(g.stages.get("em@seed=0[0].walk")!.seed, g.stages.get("em@seed=1[0].walk")!.seed);
});

Deno.test("a member whose seed is the spec's seed is the unswept pipeline's stage (same seed, same params)", () => {
  const plain = graphOf(spec("").replace("em@*[*]", "em[*]")).stages.get("em[1].walk")!;
  const member = graphOf(spec("sweep: { seed: [7, 8] }")).stages.get("em@seed=7[1].walk")!;
  assertEquals([member.seed, member.params], [plain.seed, plain.params]);
});

Deno.test("a parameter sweep touches only the stage it changes and what reads it", () => {
  const g = graphOf(spec("", "sweep: { b.factor: [3, 4] }\n"));
  assertEquals(g.order, [
    "a",
    "b@factor=3",
    "em@factor=3[0].walk",
    "em@factor=3[1].walk",
    "last@factor=3",
    "b@factor=4",
    "em@factor=4[0].walk",
    "em@factor=4[1].walk",
    "total",
    "last@factor=4",
  ]);
  assertEquals(g.stages.get("b@factor=4")!.params.factor, 4);
  assertEquals(g.stages.get("em@factor=4[0].walk")!.inputs.x, ["b@factor=4"]);
  // A parameter sweep leaves seeds alone: the members differ by what they read.
  assertEquals(g.stages.get("em@factor=3[0].walk")!.seed, g.stages.get("em@factor=4[0].walk")!.seed);
});

Deno.test("adding a value to a sweep leaves the ids and keys of the other members as they were", async () => {
  const two = await statuses(await scratch(spec("sweep: { seed: [0, 1] }")));
  const three = await statuses(await scratch(spec("sweep: { seed: [0, 1, 2] }")));
  for (const [id, s] of Object.entries(two)) {
    if (id === "total") continue; // it reads every member: its key changes, as it should
    assertEquals(three[id]?.key, s.key, id);
  }
  assert("em@seed=2[1].walk" in three);
  assertNotEquals(three.total.key, two.total.key);
});

Deno.test("a 2-seed sweep runs the shared stages once and each member's stages with its own seed", async () => {
  const dir = await scratch(spec("sweep: { seed: [0, 1] }"));
  const r = await cli(dir, "run", "--jobs", "2");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), [
    "a",
    "b",
    "em@seed=0[0].walk",
    "em@seed=0[1].walk",
    "em@seed=1[0].walk",
    "em@seed=1[1].walk",
    "last@seed=0",
    "last@seed=1",
    "total",
  ]);
  assertMatch(r.stdout, /9 ran, 0 cached, 0 failed/);
  const entries = [...Deno.readDirSync(`${dir}/store/entries`)].length;
  assertEquals(entries, 9, "one store entry per stage: the shared stages were computed once");
  const m0 = await show(dir, "em@seed=0[0].walk"), m1 = await show(dir, "em@seed=1[0].walk");
  assertNotEquals(m0.seed, m1.seed);
  assertNotEquals(m0.key, m1.key);
  assertEquals((await show(dir, "em@seed=1[0].walk")).inputs, (await show(dir, "em@seed=0[0].walk")).inputs);
  const again = await cli(dir, "run");
  assertMatch(again.stdout, /0 ran, 9 cached, 0 failed/);
});

Deno.test("bad sweeps are errors naming the file, line and key", () => {
  assertMatch(
    errorsOf(spec("", "sweep: { em.walk.stepz: [1, 2] }\n")),
    /sweep\.yaml:14:10 \(sweep em\.walk\.stepz=1\): unknown parameter "stepz".*did you mean "steps"/,
  );
  assertMatch(
    errorsOf(spec("sweep: { nope: [1] }")),
    /sweep\.yaml:9:14: sweep "em\.nope": loop "em" has no option/,
  );
  assertMatch(
    errorsOf(spec("sweep: { seed: [] }")),
    /sweep\.yaml:9:14: sweep "em\.seed": needs a non-empty list/,
  );
  assertMatch(
    errorsOf(spec("sweep: { seed: 3 }")),
    /sweep "em\.seed": needs a non-empty list of values, got 3/,
  );
  assertMatch(
    errorsOf(spec("sweep: { walk.steps: [2, { a: 1 }] }")),
    /sweep "em\.walk\.steps": value \{"a":1\} is not a scalar/,
  );
  assertMatch(
    errorsOf(spec('sweep: { walk.steps: [1, "1"] }')),
    /values 1 and "1" would give two members the same stage ids \(steps=1\)/,
  );
  assertMatch(errorsOf(spec("sweep: { seed: [0, -1] }")), /a seed must be a non-negative integer, got -1/);
  assertMatch(
    errorsOf(spec("sweep: { laps: [1, 2] }")),
    /sweep "em\.laps": only seeds and parameters can be swept/,
  );
  assertMatch(
    errorsOf(spec("sweep: { seed: [0, 1] }", "sweep: { seed: [3, 4] }\n")),
    /sweep\.yaml:9:14: sweep keys "seed" and "em\.seed" both touch stage "em\[0\]\.walk"/,
  );
  assertMatch(
    errorsOf(spec("sweep: { seed: [0, 1] }").replace('"em[-1].walk"', '"em@*[-1].walk"')),
    /input "x" of task "fx-scale" takes one stage; NAME@… names one per sweep member/,
  );
  assertMatch(errorsOf(spec("", "sweep: []\n")), /sweep\.yaml:14:1: `sweep:` must be a non-empty mapping/);
});
