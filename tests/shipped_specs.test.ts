/**
 * Every spec that ships at the project's root (`pipeline*.yaml`) parses and builds its stage graph with the
 * built-in tasks: every parameter valid for its task, every reference resolved. Most of them are too long to
 * run in the suite (the image and paper-budget specs); this catches a spec broken by a parameter rename or a
 * mistyped reference before a user's first run does.
 */
import { assert } from "./assert.ts";
import { buildGraph, loadSpec, type TaskRegistry } from "../lib/engine/mod.ts";
import { builtinTasks } from "../tasks/mod.ts";

const root = new URL("../", import.meta.url);
const registry: TaskRegistry = new Map(builtinTasks.map((t) => [t.name, t]));
const specs = [...Deno.readDirSync(root)]
  .map((e) => e.name)
  .filter((name) => /^pipeline.*\.yaml$/.test(name))
  .sort();

Deno.test("the project ships its specs", () => {
  for (const name of ["pipeline.yaml", "pipeline-compare.yaml", "pipeline-mnist.yaml"]) {
    assert(specs.includes(name), `${name} is missing: found ${specs.join(", ")}`);
  }
});

for (const name of specs) {
  Deno.test(`shipped spec ${name} builds its stage graph`, async () => {
    const graph = buildGraph(await loadSpec(new URL(name, root).pathname), registry);
    assert(graph.order.length > 0, `${name}: no stages`);
    const reports = graph.order.filter((id) => graph.stages.get(id)!.task.name === "report");
    assert(reports.length > 0, `${name}: no report stage`);
  });
}
