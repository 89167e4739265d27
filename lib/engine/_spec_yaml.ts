/**
 * YAML text → a mapping, keeping where every node came from (private): errors name
 * `file:line:col`, pointing at the key of a mapping entry rather than at its value.
 *
 * @module
 */
import YAML, { type Document, isMap, isScalar, LineCounter } from "yaml";
import { SpecError } from "./_spec_error.ts";
import { isObj, type Obj, type YamlPath } from "./_spec_keys.ts";

/** A parsed spec document: its top-level mapping, and where each of its paths is in the text. */
export interface YamlSpec {
  raw: Obj;
  locate(path: YamlPath): string;
}

/**
 * Parse spec text (`display` names the file in messages); YAML errors and duplicate keys, or a
 * document that is not a mapping, throw a {@link SpecError}.
 *
 * @example
 * ```ts
 * const { raw, locate } = readYaml("seed: 1\nstages: {}\n", "p.yaml");
 * locate(["stages"]); // "p.yaml:2:1"
 * ```
 */
export function readYaml(text: string, display: string): YamlSpec {
  const lines = new LineCounter();
  // Duplicate keys are found here in one pass (yaml's own check is quadratic in a mapping's size).
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  const at = (pos: number) => `${display}:${lines.linePos(pos).line}:${lines.linePos(pos).col}`;
  const yamlIssues = doc.errors.map((e) => ({
    where: at(e.pos[0]),
    message: `YAML syntax error: ${firstLine(e.message)}`,
  }));
  if (!yamlIssues.length) {
    for (const pos of duplicateKeys(doc)) {
      yamlIssues.push({
        where: at(pos),
        message: "duplicate key (a stage id or field is declared twice): Map keys must be unique",
      });
    }
  }
  if (yamlIssues.length) throw new SpecError(yamlIssues);
  let raw: unknown;
  try {
    // Aliases are expanded with a bound (yaml's maxAliasCount): a "billion laughs" document is refused.
    raw = doc.toJS();
  } catch (e) {
    throw new SpecError([{
      where: display,
      message: `cannot read the YAML: ${
        firstLine((e as Error).message)
      } (too many or too deeply nested aliases?)`,
    }]);
  }
  if (!isObj(raw)) {
    throw new SpecError([{ where: display, message: "a spec is a YAML mapping with a `stages:` key" }]);
  }
  return { raw, locate: (path) => locateIn(doc, lines, display, path) };
}

/** Where each repeated key of every mapping of `doc` is (its text offset), in one pass. */
function duplicateKeys(doc: Document): number[] {
  const out: number[] = [];
  YAML.visit(doc, {
    Map(_, node) {
      if (!isMap(node)) return;
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) out.push((pair.key as { range?: number[] } | null)?.range?.[0] ?? 0);
        seen.add(key);
      }
    },
  });
  return out;
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** `display:line:col` of the deepest node of `path` that the document has (or `display` alone). */
function locateIn(doc: Document, lines: LineCounter, display: string, path: YamlPath): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      // Point at the key when the path names a mapping entry (more useful than its value).
      const parent = n > 0 ? (n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)) : null;
      const items = (parent as { items?: { key?: { value?: unknown; range?: number[] } }[] } | null)?.items;
      const pair = items?.find((p) => p.key?.value === path[n - 1]);
      const at = pair?.key?.range?.[0] ?? range[0];
      const pos = lines.linePos(at);
      return `${display}:${pos.line}:${pos.col}`;
    }
  }
  return display;
}
