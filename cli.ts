/**
 * `deno task pipeline [COMMAND]`: run, inspect and maintain a pipeline declared in YAML.
 *
 * Exit codes: 0 success, 1 a stage (or the run) failed, 2 the spec or the command line is invalid.
 *
 * This file wires the commands (their arguments, options and help) to their modules in `cli/`.
 *
 * @module
 */
import { Command, Option } from "commander";
import { collect, common, exitCodeOf, withNoPlugins } from "./cli/_common.ts";
import { cmdDag } from "./cli/dag.ts";
import { cmdExec } from "./cli/exec.ts";
import { cmdExport } from "./cli/export.ts";
import { EXPORT_FORMATS } from "./lib/export/mod.ts";
import { cmdMetrics } from "./cli/metrics.ts";
import { cmdReport } from "./cli/report.ts";
import { cmdRun } from "./cli/run.ts";
import { cmdShow } from "./cli/show.ts";
import { cmdStatus } from "./cli/status.ts";
import { cmdGc, cmdVerify } from "./cli/store.ts";
import { cmdTasks } from "./cli/tasks.ts";

/** Wraps a command so that its exit code reaches {@link main}. */
type Act = <T extends unknown[]>(fn: (...a: T) => Promise<number> | number) => (...a: T) => Promise<void>;

/**
 * Parse `args` and run the command; returns the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["status", "-f", "pipeline.yaml"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let code = 0;
  const program = new Command("pipeline")
    .description("Learn diffusion priors from corrupted observations: a cached, resumable pipeline of stages")
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");
  const act: Act = (fn) => async (...a) => {
    code = await fn(...a);
  };
  // The order of the commands is the order of `--help`.
  addRun(program, act);
  addInspection(program, act);
  addUpkeep(program, act);
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    return exitCodeOf(e);
  }
}

/** `run` (the default command). */
function addRun(program: Command, act: Act): void {
  common(
    program.command("run", { isDefault: true }).description(
      "run every stage that is not cached (the default)",
    ),
  )
    .option(
      "-j, --jobs <n>",
      "stages to run at once (default: one per core)",
      String(navigator.hardwareConcurrency ?? 1),
    )
    .option("--until <id>", "run only this stage and what it needs (repeatable)", collect, [])
    .option("--force <id>", "rerun this stage and its descendants although cached (repeatable)", collect, [])
    .option("-n, --dry-run", "print the plan: what would run, what is cached, and why")
    .option("--wait", "wait for another run holding the store instead of refusing")
    .addOption(
      new Option("--executor <name>", "where stages run: local processes, or Slurm jobs").choices([
        "local",
        "slurm",
      ]).default("local"),
    )
    .option("--detach", "with --executor slurm: submit the jobs and return (status/run pick them up later)")
    .action(act(cmdRun));
}

/** `status`, `dag`, `show`, `metrics`. */
function addInspection(program: Command, act: Act): void {
  withNoPlugins(
    common(program.command("status").description("every stage: cached | stale | missing, and why")),
  )
    .option("--json", "machine-readable output").action(act(cmdStatus));
  withNoPlugins(common(program.command("dag").description("print the stage graph")))
    .addOption(
      new Option("--format <fmt>", "output format").choices(["text", "mermaid", "dot"]).default("text"),
    )
    .action(act(cmdDag));
  withNoPlugins(common(
    program.command("show").argument("<id>", "stage id, e.g. em[3].fit").description(
      "params, key, inputs, outputs, metrics, timings of a stage",
    ),
  ))
    .option("--json", "machine-readable output").action(act(cmdShow));
  withNoPlugins(common(program.command("metrics").description("every metric of every stage, by EM lap")))
    .option("--json", "machine-readable output").action(act(cmdMetrics));
  common(
    program.command("report").description("draw the report from what the store holds now (runs nothing)"),
  )
    .option("--to <dir>", "the folder to write report.html and the figures into", "report")
    .option("--open", "open report.html in the browser")
    .action(act(cmdReport));
  common(
    program.command("export").argument("<id>", "stage id").argument("[arrays...]", "arrays (default: all)")
      .description("write a stage's arrays and metadata as plain files (Zarr v2/v3, NumPy .npy)"),
  )
    .requiredOption("--to <path>", "the new directory to write")
    .addOption(new Option("--format <fmt>", "file format").choices(EXPORT_FORMATS).default("zarr-v2"))
    .action(act(cmdExport));
}

/** `gc`, `verify`, `exec`, `tasks`. */
function addUpkeep(program: Command, act: Act): void {
  withNoPlugins(program.command("gc").description("remove store entries that no given spec refers to"))
    .option(
      "-f, --file <path>",
      "spec whose entries to keep (repeatable; default pipeline.yaml)",
      collect,
      [],
    )
    .option("--set <key=value>", "override a spec value (repeatable)", collect, [])
    .option("-n, --dry-run", "list what would be removed")
    .option("--wait", "wait for a run holding the store")
    .action(act(cmdGc));
  withNoPlugins(
    common(program.command("verify").description("hash every entry of the spec and report damage")),
  ).action(act(cmdVerify));
  common(
    program.command("exec").argument("<id>", "stage id").description(
      "run one stage in this process (inputs must be in the store)",
    ),
  )
    .option("--force", "recompute even if cached")
    .option("--events", "write machine-readable progress events to stdout")
    .option("--shard <i>", "compute only shard i of a sharded stage (a cluster job array element)")
    .action(act(cmdExec));
  program.command("tasks").description("list the available tasks").option("--json", "with parameter schemas")
    .action(act(cmdTasks));
}

if (import.meta.main) {
  const code = await main(Deno.args);
  Deno.exit(code);
}
