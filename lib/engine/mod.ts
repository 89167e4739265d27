/**
 * The pipeline engine's public surface: what the CLI and tasks import.
 *
 * A spec (YAML) is loaded ({@link loadSpec}) and expanded into a graph of stages ({@link buildGraph});
 * a plan gives each stage its content key and says whether the store has it ({@link makePlan});
 * a run executes what is missing through an executor ({@link runPipeline}, {@link LocalExecutor},
 * {@link SlurmExecutor}), each stage in a process of its own ({@link runStage}), publishing into the
 * content-addressed {@link Store}. Tasks implement the contract of {@link TaskDef} and see only a
 * {@link StageContext}; a failure that is the user's to fix (parameters, inputs or data that do not fit
 * together) is a {@link StageMismatchError}. The engine knows nothing of what tasks compute.
 *
 * @example
 * ```ts
 * import { buildGraph, LocalExecutor, loadSpec, runPipeline } from "./lib/engine/mod.ts";
 *
 * const graph = buildGraph(await loadSpec("pipeline.yaml"), registry);
 * const summary = await runPipeline(graph, { executor: new LocalExecutor({ jobs: 2, stageCommand }) });
 * ```
 *
 * @module
 */
export {
  type Backend,
  isLoop,
  loadSpec,
  type LoopDecl,
  type Override,
  parseOverrides,
  parseSpec,
  type ResourceDecl,
  type Spec,
  SpecError,
  type SpecIssue,
  type StageDecl,
  suggest,
} from "./spec.ts";
export { buildGraph, type Graph, type Stage, type TaskRegistry } from "./graph.ts";
export {
  makePlan,
  type Plan,
  type PlannedStage,
  type Selection,
  selectStages,
  type StageStatus,
} from "./plan.ts";
export { publishedEntry } from "./published.ts";
export { type RunOptions, runPipeline, type RunSummary } from "./run.ts";
export {
  MissingInputError,
  runStage,
  type RunStageOptions,
  type StageEvent,
  StageMismatchError,
} from "./stage.ts";
export {
  EVENT_MARK,
  type ExecutionRequest,
  type Executor,
  LocalExecutor,
  type StageCommand,
  type StageOutcome,
} from "./executor.ts";
export * from "./slurm/mod.ts";
export { formatDuration, ProgressView } from "./progress.ts";
export type {
  Checkpoints,
  InputEntry,
  InputSpec,
  Progress,
  Resources,
  StageContext,
  TaskDef,
} from "./task.ts";
export * from "./store/mod.ts";
