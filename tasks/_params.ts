/**
 * Parameter schema pieces shared by the tasks.
 *
 * @module
 */
import { z } from "zod";

/**
 * A parameter that was renamed: naming it is a spec error that says the new name.
 *
 * @example
 * ```ts
 * const params = z.object({ solver_maxiter: z.number().optional(), cg_maxiter: renamed("solver_maxiter") });
 * ```
 */
export const renamed = (to: string): z.ZodOptional<z.ZodNever> =>
  z.never({ error: `renamed: use ${to}` }).optional();
