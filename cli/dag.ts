/**
 * `pipeline dag`: the stage graph, as text, Mermaid or Graphviz dot.
 *
 * @module
 */
import { type CommonOpts, loadGraph, print } from "./_common.ts";

/**
 * `pipeline dag`: returns the exit code (0).
 *
 * @example
 * ```ts
 * await cmdDag({ file: "pipeline.yaml", set: [], format: "mermaid" }); // graph TD …
 * ```
 */
export async function cmdDag(opts: CommonOpts & { format: string }): Promise<number> {
  const graph = await loadGraph(opts);
  const edges: [string, string, string][] = [];
  for (const id of graph.order) {
    for (const [name, deps] of Object.entries(graph.stages.get(id)!.inputs)) {
      for (const d of deps) edges.push([d, id, name]);
    }
  }
  if (opts.format === "mermaid") {
    const n = new Map(graph.order.map((id, i) => [id, `s${i}`]));
    print("graph TD");
    for (const id of graph.order) {
      print(`  ${n.get(id)}["${id}<br/><small>${graph.stages.get(id)!.task.name}</small>"]`);
    }
    for (const [a, b, name] of edges) print(`  ${n.get(a)} -->|${name}| ${n.get(b)}`);
  } else if (opts.format === "dot") {
    print("digraph pipeline {\n  rankdir=TB;\n  node [shape=box];");
    for (const id of graph.order) print(`  "${id}" [label="${id}\\n${graph.stages.get(id)!.task.name}"];`);
    for (const [a, b, name] of edges) print(`  "${a}" -> "${b}" [label="${name}"];`);
    print("}");
  } else {
    for (const id of graph.order) {
      const s = graph.stages.get(id)!;
      const ins = Object.entries(s.inputs).map(([k, ids]) =>
        `${k}=${ids.length > 3 ? `${ids[0]}…${ids.at(-1)} (${ids.length})` : ids.join(",")}`
      );
      print(`${id} (${s.task.name})${ins.length ? ` ← ${ins.join(" ")}` : ""}`);
    }
  }
  return 0;
}
