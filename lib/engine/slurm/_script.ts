/**
 * The text of the batch scripts the Slurm executor submits: `#SBATCH` directives from a stage's
 * resources, its dependencies and log paths, a check that the job sees the store, and the stage
 * command (the same one the local executor runs; for a job array, with the element's shard).
 *
 * @module
 */
import type { StageCommand } from "../executor.ts";
import type { Plan, PlannedStage, Selection } from "../plan.ts";
import type { Resources } from "../task.ts";
import { SpecError } from "../spec.ts";
import { hasControlChar } from "../_spec_keys.ts";

/**
 * The shard argument of a job array element: the index Slurm gives each element, expanded by the
 * job's shell.
 *
 * @example
 * ```ts
 * stageCommand("em[0].sample", { force: false, shard: ARRAY_TASK_ID }); // … exec em[0].sample --shard "$SLURM_ARRAY_TASK_ID"
 * ```
 */
export const ARRAY_TASK_ID = "$SLURM_ARRAY_TASK_ID";

/**
 * Resources of a stage whose task and spec name none (the cluster's defaults for the rest).
 *
 * @example
 * ```ts
 * sbatchFlags({}); // ["--cpus-per-task=1"]
 * ```
 */
export const DEFAULT_RESOURCES: Readonly<Resources> = { cpus: 1 };

/**
 * One batch script: what `sbatch` is given for a stage (or for the job array of its shards).
 *
 * @example
 * ```ts
 * for (const s of executor.scripts(plan, selection)) console.log(`# ${s.stage} (${s.kind})\n${s.text}`);
 * ```
 */
export interface JobScript {
  /** The stage id. */
  stage: string;
  /** The stage's key (the script is written to `<store>/slurm/<key>.sh`, or `.shards.sh`). */
  key: string;
  /** `stage`: the job that runs (or gathers and publishes) the stage; `shards`: the job array. */
  kind: "stage" | "shards";
  /** The script itself. */
  text: string;
}

/**
 * What every script of a run shares: where the jobs run, and the command that runs a stage.
 *
 * @example
 * ```ts
 * const setup: ScriptSetup = { workdir: graph.spec.dir, stageCommand };
 * ```
 */
export interface ScriptSetup {
  /** Working directory of the jobs (`--chdir`). */
  workdir: string;
  /** The command that runs one stage (or, with `shard`, one shard of it) in a fresh process. */
  stageCommand: StageCommand;
}

/**
 * Quote a word for bash (single quotes), leaving {@link ARRAY_TASK_ID} to be expanded by the job.
 *
 * @example
 * ```ts
 * shellQuote("em[0].fit"); // "'em[0].fit'"
 * shellQuote(ARRAY_TASK_ID); // '"$SLURM_ARRAY_TASK_ID"'
 * ```
 */
export function shellQuote(word: string): string {
  if (word === ARRAY_TASK_ID) return `"${ARRAY_TASK_ID}"`;
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A value for an `#SBATCH` line (double-quoted when it has spaces). */
function directiveValue(v: string): string {
  return /[\s"]/.test(v) ? `"${v.replace(/(["\\])/g, "\\$1")}"` : v;
}

/** A string inside bash double quotes. */
function doubleQuoted(s: string): string {
  return s.replace(/(["\\$`])/g, "\\$1");
}

/**
 * The sbatch flags of a stage's resources (task defaults merged with the spec's `resources:`).
 *
 * @example
 * ```ts
 * sbatchFlags({ cpus: 2, memory: "8G", time: "4:00:00", gpus: 1, partition: "gpu", sbatch: ["--qos=long"] });
 * // ["--cpus-per-task=2", "--mem=8G", "--time=4:00:00", "--gpus=1", "--partition=gpu", "--qos=long"]
 * ```
 */
export function sbatchFlags(resources: Resources): string[] {
  const r = { ...DEFAULT_RESOURCES, ...resources };
  const flags: string[] = [];
  if (r.cpus !== undefined) flags.push(`--cpus-per-task=${r.cpus}`);
  if (r.memory !== undefined) flags.push(`--mem=${r.memory}`);
  if (r.time !== undefined) flags.push(`--time=${r.time}`);
  if (r.gpus) flags.push(`--gpus=${r.gpus}`);
  if (r.partition !== undefined) flags.push(`--partition=${r.partition}`);
  flags.push(...(r.sbatch ?? []));
  return flags;
}

/**
 * The stages a planned stage reads, once each: the stages whose jobs its job waits for.
 *
 * @example
 * ```ts
 * inputStages(plan.stages.get("em[1].fit")!); // ["obs", "em[0].sample"]
 * ```
 */
export function inputStages(p: PlannedStage): string[] {
  return [...new Set(Object.values(p.stage.inputs).flat())];
}

/**
 * How many shards a stage's task splits it into (0 or 1: it runs as one job).
 *
 * @example
 * ```ts
 * if (shardCount(p) > 1) console.log(`${p.stage.id} goes out as a job array`);
 * ```
 */
export function shardCount(p: PlannedStage): number {
  const n = p.stage.task.shards?.(p.stage.params) ?? 0;
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`stage ${p.stage.id}: task ${p.stage.task.name} reports ${n} shards`);
  }
  return n;
}

/**
 * The batch script of a stage: with `arrayOf` > 0, the job array computing its `arrayOf` shards;
 * otherwise the job that runs the stage (or gathers its shards) and publishes it. `deps` are the
 * job ids (or, in a dry run, `<stage>` names) it runs after.
 *
 * @example
 * ```ts
 * const s = jobScript(plan, plan.stages.get("obs")!, { workdir, stageCommand }, { force: false, deps: ["41"], arrayOf: 0 });
 * // s.text: "#!/bin/bash\n#SBATCH --job-name=obs\n…#SBATCH --dependency=afterok:41\n…exec deno run … exec obs …"
 * ```
 */
export function jobScript(
  plan: Plan,
  p: PlannedStage,
  setup: ScriptSetup,
  job: { force: boolean; deps: string[]; arrayOf: number },
): JobScript {
  const root = plan.store.root;
  const { id } = p.stage;
  const { force, deps, arrayOf } = job;
  const logBase = `${root}/logs/${p.key}.${arrayOf ? "%A_%a" : "%j"}`;
  const directives = [
    `--job-name=${id}`,
    `--chdir=${setup.workdir}`,
    `--output=${logBase}.out`,
    `--error=${logBase}.err`,
    ...sbatchFlags(p.stage.resources),
    ...(arrayOf ? [`--array=0-${arrayOf - 1}`] : []),
    ...(deps.length ? [`--dependency=afterok:${deps.join(":")}`, "--kill-on-invalid-dep=yes"] : []),
  ];
  const { command, args } = setup.stageCommand(id, {
    force,
    ...(arrayOf ? { shard: ARRAY_TASK_ID } : {}),
  });
  refuseControlChars(id, [...directives, root, command, ...args]);
  const what = arrayOf
    ? `shard ${ARRAY_TASK_ID} of ${arrayOf} (the job that gathers them publishes the stage)`
    : p.stage.task.shards
    ? "gathers its shards and publishes the stage"
    : "runs and publishes the stage";
  const text = [
    "#!/bin/bash",
    ...directives.map((d) => `#SBATCH ${directiveValue(d)}`),
    `# Stage ${id} (task ${p.stage.task.name}), key ${p.key}: ${what}.`,
    `# Submitted by \`pipeline run --executor slurm\`; outputs go to the store ${root}.`,
    `test -f ${shellQuote(`${root}/STORE`)} || { echo "store ${
      doubleQuoted(root)
    } is not visible on $(hostname): the store must be on a filesystem every node sees" >&2; exit 1; }`,
    `exec ${[command, ...args].map(shellQuote).join(" ")}`,
    "",
  ].join("\n");
  return { stage: id, key: p.key, kind: arrayOf ? "shards" : "stage", text };
}

/**
 * Refuse values with control characters before they enter a script: a newline would end a line
 * (a directive, a comment) and start a command of its own. Words are also quoted; this is the
 * second wall, and the one that protects `#SBATCH` lines and comments, which no quoting does.
 */
function refuseControlChars(id: string, values: string[]): void {
  const bad = values.find(hasControlChar);
  if (bad !== undefined) {
    throw new SpecError([{
      where: `stage ${id}`,
      message:
        `${
          JSON.stringify(bad)
        } would enter its Slurm job script but contains a control character (a newline, a tab…): ` +
        "rename the path (store, spec directory) or fix the flag",
    }]);
  }
}

/**
 * The batch scripts a run would submit for `selection`, with the jobs they wait for named by
 * stage (`afterok:<obs>`): what `--dry-run --executor slurm` prints.
 *
 * @example
 * ```ts
 * for (const s of dryRunScripts(plan, selection, { workdir, stageCommand })) console.log(s.text);
 * ```
 */
export function dryRunScripts(plan: Plan, selection: Selection, setup: ScriptSetup): JobScript[] {
  const run = new Set(selection.run);
  const out: JobScript[] = [];
  for (const id of selection.run) {
    const p = plan.stages.get(id)!;
    const force = selection.forced.has(id);
    const deps = inputStages(p).filter((d) => run.has(d)).map((d) => `<${d}>`);
    const shards = shardCount(p);
    if (shards > 1) {
      out.push(jobScript(plan, p, setup, { force, deps, arrayOf: shards }));
      out.push(jobScript(plan, p, setup, { force, deps: [`<${id}/shards>`], arrayOf: 0 }));
    } else {
      out.push(jobScript(plan, p, setup, { force, deps, arrayOf: 0 }));
    }
  }
  return out;
}

/**
 * Where a script is written before it is submitted: next to the stage's job record.
 *
 * @example
 * ```ts
 * scriptPath(".store", s); // ".store/slurm/6d53….shards.sh" for the job array of a sharded stage
 * ```
 */
export function scriptPath(storeRoot: string, s: JobScript): string {
  return `${storeRoot}/slurm/${s.key}${s.kind === "shards" ? ".shards" : ""}.sh`;
}
