/**
 * Running a pipeline's stages as Slurm jobs: the {@link SlurmExecutor} (one `sbatch` job per
 * stage, a job array for the shards of a sharded stage, `afterok` dependencies between them), and
 * {@link queuedStages}, where the stages a detached run left in the queue stand (for `status`).
 *
 * The modules behind it, private to this folder: `_queue.ts` (the sbatch/squeue/scontrol/scancel
 * client), `_script.ts` (job script text), `_records.ts` (job records in `<store>/slurm/`),
 * `_logs.ts` (reading job logs), `_tracked.ts` (a stage followed in the queue), `_judge.ts` (a
 * stage's outcome once its jobs end).
 *
 * @example
 * ```ts
 * import { queuedStages, SlurmExecutor } from "./lib/engine/slurm/mod.ts";
 *
 * const executor = new SlurmExecutor({ stageCommand, workdir: graph.spec.dir, detach: true });
 * await runPipeline(graph, { executor });
 * for (const [key, q] of await queuedStages(graph.spec.store, keys)) console.log(q.record.stage, q.state);
 * ```
 *
 * @module
 */
export { SlurmExecutor, type SlurmExecutorOptions } from "./executor.ts";
export { type JobState, type SlurmClient, SlurmCommands } from "./_queue.ts";
export { type QueuedStage, queuedStages, type SlurmJobRecord } from "./_records.ts";
export type { JobScript } from "./_script.ts";
