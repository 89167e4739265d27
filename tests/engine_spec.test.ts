/**
 * Every kind of invalid spec or command line is reported with its place, the offending key or
 * value, and the valid alternatives; nothing runs and nothing is written.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, snapshot } from "./cli_helpers.ts";
import { buildGraph, parseOverrides, parseSpec, SpecError, type TaskRegistry } from "../lib/engine/mod.ts";
import { tasks } from "./fixtures/tasks.ts";

const registry: TaskRegistry = new Map(tasks.map((t) => [t.name, t]));

function errorsOf(yaml: string, sets: string[] = []): string {
  try {
    buildGraph(parseSpec(yaml, "/work/spec.yaml", parseOverrides(sets)), registry);
  } catch (e) {
    assert(e instanceof SpecError, `expected a SpecError, got ${e}`);
    return e.message;
  }
  throw new Error("expected the spec to be rejected");
}

const OK = `stages:
  a: { task: fx-source, params: { n: 4 } }
  b: { task: fx-scale, inputs: { x: a } }
`;

Deno.test("a valid spec builds, with defaults filled in and loop laps expanded", () => {
  const g = buildGraph(
    parseSpec(
      OK +
        `  em:\n    loop: { laps: 3, start: { w: b } }\n    stages:\n      w: { task: fx-steps, inputs: { x: prev.w } }\n  t: { task: fx-sum, inputs: { xs: "em[*].w" } }\n`,
      "/work/s.yaml",
    ),
    registry,
  );
  assertEquals(g.order, ["a", "b", "em[0].w", "em[1].w", "em[2].w", "t"]);
  assertEquals(g.stages.get("b")!.params, { factor: 2, sleep_ms: 0 });
  assertEquals(g.stages.get("em[0].w")!.inputs.x, ["b"]);
  assertEquals(g.stages.get("em[2].w")!.inputs.x, ["em[1].w"]);
  assertEquals(g.stages.get("t")!.inputs.xs, ["em[0].w", "em[1].w", "em[2].w"]);
  assert(g.stages.get("em[0].w")!.seed !== g.stages.get("em[1].w")!.seed, "each lap has its own seed");
});

Deno.test("YAML syntax errors give file:line:column", () => {
  assertMatch(errorsOf("stages:\n  a: { task: fx-source\n  b: 1\n"), /spec\.yaml:\d+:\d+: YAML syntax error/);
});

Deno.test("unknown task lists the available ones", () => {
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-sauce }\n"),
    /spec\.yaml:2:8: unknown task "fx-sauce" in stage "a" did you mean "fx-source"\?.*valid: fx-fail, fx-nan/,
  );
});

Deno.test("unknown and mistyped parameters name the key, the value and the valid keys", () => {
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source, params: { m: 4 } }\n"),
    /spec\.yaml:2:35: unknown parameter "m" for task "fx-source".*valid: n, value, sleep_ms/,
  );
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source, params: { n: four } }\n"),
    /spec\.yaml:2:35: parameter "n" of stage "a".*expected number.*got "four"/,
  );
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source, params: { n: -1 } }\n"),
    /parameter "n" of stage "a".*got -1/,
  );
});

Deno.test("missing dependencies: unknown stage, unwired input, unknown input", () => {
  assertMatch(
    errorsOf("stages:\n  b: { task: fx-scale, inputs: { x: aa } }\n  a: { task: fx-source }\n"),
    /spec\.yaml:2:34: unknown stage "aa" did you mean "a"/,
  );
  assertMatch(
    errorsOf("stages:\n  b: { task: fx-scale }\n"),
    /spec\.yaml:2:3: stage "b" \(task fx-scale\) is missing input "x"/,
  );
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source }\n  b: { task: fx-scale, inputs: { x: a, y: a } }\n"),
    /task "fx-scale" has no input "y"/,
  );
  assertMatch(
    errorsOf(
      OK + "  em:\n    loop: { laps: 1 }\n    stages:\n      w: { task: fx-steps, inputs: { x: prev.w } }\n",
    ),
    /"prev\.w" in lap 0 of "em" needs `loop: \{ start: \{ w: STAGE \} \}`/,
  );
});

Deno.test("a cycle is printed", () => {
  const msg = errorsOf(
    "stages:\n  a: { task: fx-scale, inputs: { x: c } }\n  b: { task: fx-scale, inputs: { x: a } }\n  c: { task: fx-scale, inputs: { x: b } }\n",
  );
  assertMatch(msg, /dependency cycle: a → c → b → a/);
});

Deno.test("duplicate ids: a key twice in YAML, or a loop stage shadowing a top-level stage", () => {
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source }\n  a: { task: fx-source }\n"),
    /spec\.yaml:3:3: duplicate key/,
  );
  assertMatch(
    errorsOf(
      OK +
        "  em:\n    loop: { laps: 1, start: { a: a } }\n    stages:\n      a: { task: fx-steps, inputs: { x: prev.a } }\n",
    ),
    /stage "a" of loop "em" has the same id as a top-level stage/,
  );
});

Deno.test("bad --set: syntax, unknown target, wrong type, all named by the flag", () => {
  assertMatch(errorsOf(OK, ["b.factor"]), /--set b\.factor: expected KEY=VALUE/);
  assertMatch(errorsOf(OK, ["bb.factor=2"]), /--set bb\.factor=2: no stage or loop "bb" did you mean "b"/);
  assertMatch(errorsOf(OK, ["b.factor=[1"]), /--set b\.factor=\[1: value is not valid YAML/);
  assertMatch(
    errorsOf(OK, ["b.factor=high"]),
    /--set b\.factor=high: parameter "factor" of stage "b".*expected number/,
  );
  assertMatch(
    errorsOf(OK, ["sead=1"]),
    /--set sead=1: "sead" is not a top-level setting did you mean "seed"/,
  );
  assertMatch(
    errorsOf(OK, ["backend=tpu"]),
    /--set backend=tpu: unknown backend "tpu".*valid: auto, webgpu, wasm, cpu/,
  );
});

Deno.test("unknown top-level and stage fields are caught with suggestions", () => {
  assertMatch(errorsOf("stagse: {}\n"), /spec\.yaml:1:1: unknown key "stagse" did you mean "stages"/);
  assertMatch(
    errorsOf("stages:\n  a: { task: fx-source, parms: {} }\n"),
    /unknown stage field "parms" in "a" did you mean "params"/,
  );
});

Deno.test("the CLI exits 2 on an invalid spec or command line and writes nothing", async () => {
  const dir = await scratch("store: store\nstages:\n  a: { task: nope }\n");
  const r = await cli(dir, "run");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /invalid pipeline:\n\s+pipeline\.yaml:3:8: unknown task "nope"/);
  const bad = await cli(dir, "run", "--jobs", "zero");
  assertEquals(bad.code, 2);
  const unknown = await cli(dir, "frobnicate");
  assertEquals(unknown.code, 2);
  assertEquals((await snapshot(`${dir}/store`)).size, 0);
});
