/**
 * Shows what a run is doing: on a terminal, one live bar per running stage (done/total, rate,
 * ETA) redrawn in place with log lines scrolling above; otherwise plain lines, throttled, that
 * read well in a log file or CI.
 *
 * @module
 */
import type { StageOutcome } from "./executor.ts";
import type { StageEvent } from "./stage.ts";

interface Bar {
  id: string;
  label?: string;
  unit: string;
  total: number;
  done: number;
  info?: string;
  /** Start of the current phase, and units done then (a resumed phase does not count them in the rate). */
  t0: number;
  done0: number;
  lastLine: number;
  lastPct: number;
}

function newBar(id: string): Bar {
  return { id, unit: "", total: 0, done: 0, t0: performance.now(), done0: 0, lastLine: 0, lastPct: -1 };
}

/**
 * Format seconds as `1h02m`, `3m07s`, `12.3s`.
 *
 * @example
 * ```ts
 * formatDuration(187); // "3m07s"
 * ```
 */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Renders stage events for a person.
 *
 * @example
 * ```ts
 * const view = new ProgressView();
 * await runPipeline(graph, { executor, onEvent: (e) => view.onEvent(e), onOutcome: (o) => view.onOutcome(o) });
 * view.close();
 * ```
 */
export class ProgressView {
  #bars = new Map<string, Bar>();
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly tty: boolean;
  #write: (s: string) => void;

  constructor(opts: { tty?: boolean; write?: (s: string) => void } = {}) {
    this.tty = opts.tty ?? Deno.stdout.isTerminal();
    const enc = new TextEncoder();
    this.#write = opts.write ?? ((s) => Deno.stdout.writeSync(enc.encode(s)));
    if (this.tty) this.#timer = setInterval(() => this.#redraw(), 200);
  }

  /** Handle one event from a stage. */
  onEvent(e: StageEvent): void {
    switch (e.type) {
      case "start":
        this.#bars.set(e.id, newBar(e.id));
        this.line(`▶ ${e.id}${e.resumed.length ? ` (resuming from ${e.resumed.join(", ")})` : ""}`);
        break;
      case "progress": {
        const b = this.#bars.get(e.id) ?? newBar(e.id);
        if (e.unit !== b.unit || e.label !== b.label || e.total !== b.total || e.done < b.done) {
          Object.assign(b, { t0: performance.now(), done0: e.done, lastPct: -1 });
        }
        Object.assign(b, { unit: e.unit, label: e.label, total: e.total, done: e.done, info: e.info });
        this.#bars.set(e.id, b);
        if (!this.tty) this.#plainProgress(b);
        break;
      }
      case "log":
        this.line(`  ${e.id}: ${e.message}`);
        break;
      case "done":
        this.#bars.delete(e.id);
        this.line(
          e.cached ? `= ${e.id} (already in the store)` : `✓ ${e.id} in ${formatDuration(e.seconds)}`,
        );
        break;
      case "failed":
        this.#bars.delete(e.id);
        this.line(`✗ ${e.id}: ${e.error.split("\n")[0]}`);
        break;
    }
  }

  /** A stage process ended (covers processes that died without a final event). */
  onOutcome(o: StageOutcome): void {
    if (this.#bars.delete(o.id) && o.state === "failed") this.line(`✗ ${o.id}: ${o.error ?? "failed"}`);
  }

  /** Print a line above the bars. */
  line(s: string): void {
    if (this.tty) {
      this.#clear();
      this.#write(s + "\n");
      this.#redraw();
    } else {
      this.#write(s + "\n");
    }
  }

  /** Stop redrawing and clear the bars. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.tty) this.#clear();
  }

  #stats(b: Bar): { pct: number; rate: number; eta: number } {
    const elapsed = (performance.now() - b.t0) / 1000;
    const rate = elapsed > 0 ? (b.done - b.done0) / elapsed : 0;
    const eta = rate > 0 ? (b.total - b.done) / rate : Infinity;
    return { pct: b.total > 0 ? b.done / b.total : 0, rate, eta };
  }

  #plainProgress(b: Bar): void {
    const { pct, rate, eta } = this.#stats(b);
    const step = Math.floor(pct * 10);
    const now = performance.now();
    if (step === b.lastPct && now - b.lastLine < 30_000) return;
    b.lastPct = step;
    b.lastLine = now;
    this.#write(
      `  ${b.id}${b.label ? ` ${b.label}` : ""}: ${Math.round(b.done)}/${b.total} ${b.unit} (${
        Math.round(pct * 100)
      }%)` +
        `${rate > 0 ? `, ${fmtRate(rate)} ${b.unit}/s, ETA ${formatDuration(eta)}` : ""}${
          b.info ? `, ${b.info}` : ""
        }\n`,
    );
  }

  #clear(): void {
    if (this.#drawn) this.#write(`\x1b[${this.#drawn}A\x1b[J`);
    this.#drawn = 0;
  }

  #redraw(): void {
    this.#clear();
    const cols = (() => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 100;
      }
    })();
    const lines: string[] = [];
    for (const b of this.#bars.values()) {
      const { pct, rate, eta } = this.#stats(b);
      const width = 24;
      const fill = Math.round(pct * width);
      const bar = "█".repeat(fill) + "░".repeat(width - fill);
      const pctText = String(Math.round(pct * 100)).padStart(3);
      const text = `${b.id.padEnd(16)} ${bar} ${pctText}% ${Math.round(b.done)}/${b.total} ${b.unit}` +
        `${rate > 0 ? `  ${fmtRate(rate)}/s  ETA ${formatDuration(eta)}` : ""}${b.info ? `  ${b.info}` : ""}`;
      lines.push(text.slice(0, cols - 1));
    }
    if (lines.length) this.#write(lines.join("\n") + "\n");
    this.#drawn = lines.length;
  }
}

function fmtRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
