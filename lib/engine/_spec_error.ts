/**
 * Errors of a spec or command line, each with its place (private; re-exported by spec.ts).
 *
 * @module
 */

/** One problem in a spec, with where it is. */
export interface SpecIssue {
  /** `file:line:col`, or `--set KEY=VALUE`, or the file alone. */
  where: string;
  message: string;
}

/**
 * An invalid spec or command line: every problem found, each with its place. Exit code 2.
 *
 * @example
 * ```ts
 * throw new SpecError([{ where: "pipeline.yaml:3:5", message: 'unknown key "stagse"' }]);
 * ```
 */
export class SpecError extends Error {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[]) {
    super(issues.map((i) => `${i.where}: ${i.message}`).join("\n"));
    this.name = "SpecError";
    this.issues = issues;
  }
}
