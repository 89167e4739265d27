/**
 * The error of a stage that is the user's to fix (private; re-exported by stage.ts).
 *
 * @module
 */

/**
 * A stage whose parameters, inputs or data do not fit together: the user's doing, and the message
 * says what to change (the parameter, the input to wire, the array to fix). A task throws it for
 * such a failure, and `pipeline exec` prints the message alone, as one paragraph; any other error
 * a task throws is taken for a bug, and its stack trace is printed with it.
 *
 * Generic on purpose: the engine does not know what tasks compute, only that this failure is the
 * user's to fix.
 *
 * @example
 * ```ts
 * if (p.rank >= d) {
 *   throw new StageMismatchError(`my-fit: rank ${p.rank} must be below the event size ${d}: lower rank`);
 * }
 * ```
 */
export class StageMismatchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StageMismatchError";
  }
}
