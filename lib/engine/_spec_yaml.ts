/**
 * YAML text → a mapping, keeping where every node came from (private): errors name
 * `file:line:col`, pointing at the key of a mapping entry rather than at its value.
 *
 * @module
 */
import YAML, { type Document, LineCounter } from "yaml";
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
  const doc = YAML.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const yamlIssues = doc.errors.map((e) => ({
    where: `${display}:${lines.linePos(e.pos[0]).line}:${lines.linePos(e.pos[0]).col}`,
    message: e.code === "DUPLICATE_KEY"
      ? `duplicate key (a stage id or field is declared twice): ${firstLine(e.message)}`
      : `YAML syntax error: ${firstLine(e.message)}`,
  }));
  if (yamlIssues.length) throw new SpecError(yamlIssues);
  const raw = doc.toJS() as unknown;
  if (!isObj(raw)) {
    throw new SpecError([{ where: display, message: "a spec is a YAML mapping with a `stages:` key" }]);
  }
  return { raw, locate: (path) => locateIn(doc, lines, display, path) };
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
