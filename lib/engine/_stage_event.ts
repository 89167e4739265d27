/**
 * The events a running stage reports (private; re-exported by stage.ts).
 *
 * @module
 */

/**
 * What a running stage reports to whoever launched it.
 *
 * @example
 * ```ts
 * const e: StageEvent = { type: "log", id: "obs", message: "corrupting 4096 samples" };
 * ```
 */
export type StageEvent =
  | { type: "start"; id: string; key: string; resumed: string[] }
  | { type: "progress"; id: string; total: number; done: number; unit: string; label?: string; info?: string }
  | { type: "log"; id: string; message: string }
  | {
    type: "done";
    id: string;
    key: string;
    seconds: number;
    cached: boolean;
    metrics: Record<string, unknown>;
  }
  | { type: "failed"; id: string; error: string };
