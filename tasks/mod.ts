/**
 * The built-in tasks, by name. Each task file is a thin adapter: read inputs from the store,
 * call `lib/`, write outputs.
 *
 * @module
 */
import type { TaskDef } from "../lib/engine/mod.ts";
import { corruptTask } from "./corrupt.ts";
import { datasetTask } from "./dataset.ts";
import { evaluateTask } from "./evaluate.ts";
import { fitEvaluatorTask } from "./fit_evaluator.ts";
import { fitConditionalTask } from "./fit_conditional.ts";
import { fitGaussianTask } from "./fit_gaussian.ts";
import { fitPriorTask } from "./fit_prior.ts";
import { reportTask } from "./report.ts";
import { samplePosteriorTask } from "./sample_posterior.ts";
import { truthReferenceTask } from "./truth_reference.ts";

/** Every task the `task:` field of a spec may name. */
export const builtinTasks: TaskDef[] = [
  datasetTask,
  corruptTask,
  fitGaussianTask,
  fitPriorTask,
  fitConditionalTask,
  samplePosteriorTask,
  fitEvaluatorTask,
  truthReferenceTask,
  evaluateTask,
  reportTask,
] as TaskDef[];
