/**
 * What the commands of `cli.ts` share: the spec options every command takes, loading the spec
 * and its graph (with plugin tasks), checking stage ids given on the command line, and turning
 * an error into a message and an exit code.
 *
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { builtinTasks } from "../tasks/mod.ts";
import {
  buildGraph,
  type Graph,
  loadSpec,
  makePlan,
  MissingInputError,
  parseOverrides,
  type Plan,
  type Spec,
  SpecError,
  StageMismatchError,
  Store,
  StoreError,
  StoreLockedError,
  suggest,
  type TaskDef,
  type TaskRegistry,
} from "../lib/engine/mod.ts";

/**
 * The options {@link common} adds to a command: which spec, and overrides of its values.
 *
 * @example
 * ```ts
 * const opts: CommonOpts = { file: "pipeline.yaml", set: ["em.laps=16"], backend: "cpu" };
 * ```
 */
export interface CommonOpts {
  file: string;
  set: string[];
  backend?: string;
  /** Load no plugin code (inspection commands): a stage whose task a plugin defines is an error. */
  plugins?: boolean;
}

/**
 * Commander's collector for a repeatable option: each use appends its value.
 *
 * @example
 * ```ts
 * cmd.option("--until <id>", "run only this stage (repeatable)", collect, []);
 * ```
 */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Add the spec options (`-f`, `--set`, `--backend`) to a command.
 *
 * @example
 * ```ts
 * common(program.command("status").description("every stage: cached | stale | missing, and why"));
 * ```
 */
export function common(cmd: Command): Command {
  return cmd
    .option("-f, --file <path>", "pipeline spec", "pipeline.yaml")
    .option("--set <key=value>", "override a spec value, e.g. em.laps=16 (repeatable)", collect, [])
    .addOption(
      new Option("--backend <name>", "numerical backend (same as --set backend=NAME)").choices([
        "auto",
        "webgpu",
        "wasm",
        "cpu",
      ]),
    );
}

/**
 * Add `--no-plugins` to an inspection command: plugin modules run with every permission of the
 * CLI, so a spec from elsewhere can be inspected without running its code.
 *
 * @example
 * ```ts
 * withNoPlugins(common(program.command("status")));
 * ```
 */
export function withNoPlugins(cmd: Command): Command {
  return cmd.option("--no-plugins", "load no plugin code (a stage whose task a plugin defines is an error)");
}

/** The `file://` URL of an absolute path, every segment encoded (`#`, `%`, spaces, newlines). */
function fileUrl(path: string): string {
  return `file://${path.split("/").map(encodeURIComponent).join("/")}`;
}

async function loadTasks(spec: Spec, plugins = true): Promise<TaskRegistry> {
  const registry = new Map<string, TaskDef>();
  for (const t of builtinTasks) registry.set(t.name, t as TaskDef);
  if (!plugins) {
    refusePluginTasks(spec, registry);
    return registry;
  }
  for (const plugin of spec.plugins) {
    let mod: { tasks?: TaskDef[] };
    try {
      mod = await import(fileUrl(plugin));
    } catch (e) {
      throw new SpecError([{
        where: spec.locate(["plugins"]),
        message: `cannot load plugin ${plugin}: ${(e as Error).message.split("\n")[0]}`,
      }]);
    }
    if (!Array.isArray(mod.tasks)) {
      throw new SpecError([{
        where: spec.locate(["plugins"]),
        message: `plugin ${plugin} must export \`tasks: TaskDef[]\``,
      }]);
    }
    for (const t of mod.tasks) registry.set(t.name, t);
  }
  return registry;
}

/** With `--no-plugins`: every stage must use a built-in task (plugin tasks are not loaded). */
function refusePluginTasks(spec: Spec, registry: TaskRegistry): void {
  const stages = spec.items.flatMap((item) => "body" in item ? item.body : [item]);
  const issues = stages.filter((d) => !registry.has(d.task)).map((d) => ({
    where: spec.locate([...d.path, "task"]),
    message: `task "${d.task}" is not built in and --no-plugins loads no plugin code ` +
      `(${spec.plugins.length ? `plugins: ${spec.plugins.join(", ")}` : "the spec lists no plugins"})`,
  }));
  if (issues.length) throw new SpecError(issues);
}

/**
 * A path given on the command line, made absolute against the user's directory: `deno task`
 * runs in the project root, and says where the user was in INIT_CWD.
 *
 * @example
 * ```ts
 * userPath("out.zarr"); // "/home/me/project/out.zarr" when the user ran `deno task` there
 * ```
 */
export function userPath(path: string): string {
  if (path.startsWith("/")) return path;
  const cwd = Deno.env.get("INIT_CWD") ?? Deno.cwd();
  return `${cwd}/${path}`.replace(/\/\.\//g, "/");
}

/**
 * The stage graph of the spec the options name (with their overrides, and the spec's plugins).
 *
 * @example
 * ```ts
 * const graph = await loadGraph({ file: "pipeline.yaml", set: ["em.laps=2"] });
 * console.log(graph.order); // ["data", "obs", …]
 * ```
 */
export async function loadGraph(opts: CommonOpts): Promise<Graph> {
  const sets = [...opts.set];
  if (opts.backend) sets.push(`backend=${opts.backend}`);
  const spec = await loadSpec(userPath(opts.file), parseOverrides(sets));
  return buildGraph(spec, await loadTasks(spec, opts.plugins !== false));
}

/**
 * The plan of the spec the options name against its store, which must exist already.
 *
 * @example
 * ```ts
 * const plan = await openPlan(opts);
 * console.log(plan.stages.get("obs")!.status); // "cached"
 * ```
 */
export async function openPlan(opts: CommonOpts): Promise<Plan> {
  const graph = await loadGraph(opts);
  return makePlan(graph, await Store.open(graph.spec.store, { create: false }));
}

/**
 * The stage ids given on the command line, as the graph names them (`em[-1].fit` counts laps from the end);
 * refuses ids the graph does not have (`flag` says where they came from), suggesting names.
 *
 * @example
 * ```ts
 * const [id] = checkIds(graph, ["em[-1].fit"], "show"); // "em[15].fit"
 * checkIds(graph, opts.until, "--until"); // SpecError: --until em[99].fit: no stage "em[99].fit" (did you mean …)
 * ```
 */
export function checkIds(graph: Graph, ids: string[] | undefined, flag: string): string[] {
  return (ids ?? []).map((id) => {
    const resolved = graph.stages.has(id) ? id : lapFromEnd(graph, id);
    if (resolved === null) {
      // `--until a,b`: the flag takes one stage and repeats (commander collects the repeats).
      const parts = id.split(",").map((part) => part.trim());
      const listed = flag.startsWith("--") && parts.length > 1 &&
        parts.every((part) => graph.stages.has(part) || lapFromEnd(graph, part));
      throw new SpecError([{
        where: `${flag} ${id}`,
        message: listed
          ? `no stage "${id}": give one stage per flag, ${parts.map((part) => `${flag} ${part}`).join(" ")}`
          : `no stage "${id}" ${suggest(id, graph.order)}`,
      }]);
    }
    return resolved;
  });
}

/**
 * `em[-1].fit` as the stage id of that lap (`em[15].fit` for 16 laps), as a spec's references count laps:
 * the command line takes the same forms. Null when `id` is not of that form or names no stage.
 */
function lapFromEnd(graph: Graph, id: string): string | null {
  const m = id.match(/^(.+)\[-(\d+)\]\.([^.[\]]+)$/);
  if (!m) return null;
  const [, loop, back, stage] = m;
  const laps = graph.order
    .map((other) => other.match(/^(.+)\[(\d+)\]\.([^.[\]]+)$/))
    .filter((o) => o !== null && o[1] === loop && o[3] === stage)
    .map((o) => Number(o![2]))
    .sort((a, b) => a - b);
  const lap = laps.at(-Number(back));
  return lap === undefined ? null : `${loop}[${lap}].${stage}`;
}

/**
 * Print a line to stdout (an empty one by default).
 *
 * @example
 * ```ts
 * print(`${ok} entries intact`);
 * ```
 */
export const print = (s = ""): void => console.log(s);

/**
 * The exit code for an error a command threw, after saying what went wrong on stderr: 2 for an
 * invalid command line or spec, 1 for anything else (a store locked by another run included).
 *
 * @example
 * ```ts
 * try {
 *   await program.parseAsync(args, { from: "user" });
 * } catch (e) {
 *   return exitCodeOf(e);
 * }
 * ```
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) {
    return e.exitCode === 0 ? 0 : 2;
  }
  if (e instanceof SpecError) {
    // Each problem once, and the first few only: a runaway spec must not flood the terminal.
    const lines = [...new Set(e.issues.map((i) => `  ${i.where}: ${i.message}`))];
    const shown = lines.slice(0, MAX_ISSUES_SHOWN);
    if (lines.length > shown.length) shown.push(`  … and ${lines.length - shown.length} more problems`);
    console.error(`invalid pipeline:\n${shown.join("\n")}`);
    return 2;
  }
  console.error(userMessage(e) ?? (e as Error).stack ?? String(e));
  return 1;
}

/**
 * The one-paragraph message of a failure the user caused or can fix (a locked, damaged or odd
 * store; a filesystem that refuses; a stage's inputs not in the store; a stage whose parameters,
 * inputs or data do not fit together), or null for anything else (a bug: its stack trace helps).
 *
 * @example
 * ```ts
 * console.error(userMessage(e) ?? (e as Error).stack);
 * ```
 */
export function userMessage(e: unknown): string | null {
  if (
    e instanceof StoreLockedError || e instanceof StoreError || e instanceof MissingInputError ||
    e instanceof StageMismatchError
  ) {
    return e.message;
  }
  if (!isFilesystemError(e)) return null;
  // A read-only, full or rearranged filesystem: the path and the reason are the message.
  return `cannot use the filesystem: ${(e as Error).message}. Check that the store and the spec's ` +
    "directories exist, are directories, and are writable (a read-only store can be inspected " +
    "with status, show, metrics and verify, not run, exec or gc).";
}

/** Problems of an invalid spec printed one by one; the rest are counted. */
const MAX_ISSUES_SHOWN = 50;

/** The errors Deno throws for a refused or failed filesystem operation (they name the path). */
const FS_ERRORS = [
  Deno.errors.PermissionDenied,
  Deno.errors.NotFound,
  Deno.errors.AlreadyExists,
  Deno.errors.NotADirectory,
  Deno.errors.IsADirectory,
  Deno.errors.NotCapable,
  Deno.errors.FilesystemLoop,
  Deno.errors.WriteZero,
];

function isFilesystemError(e: unknown): boolean {
  if (FS_ERRORS.some((cls) => e instanceof cls)) return true;
  // EROFS (read-only filesystem) and ENOSPC have no class of their own.
  return e instanceof Error && /\(os error (30|28|13|20|21)\)/.test(e.message);
}
