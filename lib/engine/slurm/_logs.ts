/**
 * Reading the logs of a stage's jobs (`<store>/logs/<key>.<job>.out|err`): the lines appended to
 * a `.out` log since the last look (the stage's progress events among them), and the tail of a
 * failed job's `.err` log that reaches the user.
 *
 * @module
 */
import { EVENT_MARK } from "../executor.ts";
import type { StageEvent } from "../stage.ts";

/**
 * Reads the lines appended to a file since the last read (a line still being written waits for
 * the next read).
 *
 * @example
 * ```ts
 * const tail = new LogTail(".store/logs/6d53….12.out");
 * for (const line of await tail.read()) console.log(line);
 * ```
 */
export class LogTail {
  #offset = 0;
  #partial = "";
  #decoder = new TextDecoder();
  constructor(readonly path: string) {}

  /** The whole lines appended since the last read; none while the file does not exist. */
  async read(): Promise<string[]> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
    try {
      await file.seek(this.#offset, Deno.SeekMode.Start);
      const chunk = new Uint8Array(65536);
      let text = this.#partial;
      while (true) {
        const k = await file.read(chunk);
        if (k === null) break;
        this.#offset += k;
        text += this.#decoder.decode(chunk.subarray(0, k), { stream: true });
      }
      const lines = text.split("\n");
      this.#partial = lines.pop()!;
      return lines;
    } finally {
      file.close();
    }
  }
}

/**
 * The last `n` non-empty lines of a file (its last 64 kB); null when it does not exist.
 *
 * @example
 * ```ts
 * const lines = await tailOf(".store/logs/6d53….12.err", 40); // null: the job never wrote its log
 * ```
 */
export async function tailOf(path: string, n: number): Promise<string[] | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const size = (await file.stat()).size;
    const from = Math.max(0, size - 65536);
    await file.seek(from, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - from);
    let got = 0;
    while (got < buf.length) {
      const k = await file.read(buf.subarray(got));
      if (k === null) break;
      got += k;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, got)).split("\n").filter((l) => l.trim());
    return lines.slice(-n);
  } finally {
    file.close();
  }
}

/**
 * The stage event a log line carries (a line the stage process wrote with {@link EVENT_MARK});
 * null for any other line.
 *
 * @example
 * ```ts
 * parseEvent(EVENT_MARK + '{"type":"start","id":"obs"}'); // { type: "start", id: "obs" }
 * parseEvent("loading mnist"); // null
 * ```
 */
export function parseEvent(line: string): StageEvent | null {
  if (!line.startsWith(EVENT_MARK)) return null;
  try {
    return JSON.parse(line.slice(EVENT_MARK.length));
  } catch {
    return null;
  }
}
