/**
 * Checkpoint slots of unfinished stages (private): `checkpoints/<key>/<slot>@<n>`.
 *
 * @module
 */
import type { NDArray } from "../../array.ts";
import { readArray, writeArray } from "./zarr.ts";
import { checkName, nextTmpNumber, readDirOrNone } from "./_files.ts";

/**
 * Named checkpoint slots of one stage key. Each save writes a new version `<slot>@<n>` in a
 * temporary directory, renames it into place, then removes older versions: a crash at any point
 * leaves the last complete version loadable.
 *
 * @example
 * ```ts
 * const cp = store.checkpoints(key);
 * await cp.save("train", { step: 100 }, { w: { shape: [2], data: new Float32Array(2) } });
 * (await cp.load("train"))?.state.step; // 100
 * ```
 */
export class CheckpointDir {
  constructor(readonly dir: string) {}

  async #versions(slot: string): Promise<number[]> {
    const out: number[] = [];
    for (const e of await readDirOrNone(this.dir)) {
      const m = e.name.match(/^(.+)@(\d+)$/);
      if (m && m[1] === slot) out.push(Number(m[2]));
    }
    return out.sort((a, b) => a - b);
  }

  /** Save a slot atomically. */
  async save(
    slot: string,
    state: Record<string, unknown>,
    arrays: Record<string, NDArray> = {},
  ): Promise<void> {
    checkName(slot.replace(/\//g, "_"));
    await Deno.mkdir(this.dir, { recursive: true });
    const versions = await this.#versions(slot);
    const next = (versions.at(-1) ?? 0) + 1;
    const tmp = `${this.dir}/.tmp-${Deno.pid}-${nextTmpNumber()}`;
    await Deno.mkdir(tmp, { recursive: true });
    for (const [name, a] of Object.entries(arrays)) await writeArray(`${tmp}/arrays`, name, a);
    await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify({ state, arrays: Object.keys(arrays) }));
    await Deno.rename(tmp, `${this.dir}/${slot}@${next}`);
    for (const v of versions) {
      await Deno.remove(`${this.dir}/${slot}@${v}`, { recursive: true }).catch(() => {});
    }
  }

  /** Load the latest version of a slot, or null. */
  async load(
    slot: string,
  ): Promise<{ state: Record<string, unknown>; arrays: Record<string, NDArray> } | null> {
    const v = (await this.#versions(slot)).at(-1);
    if (v === undefined) return null;
    const d = `${this.dir}/${slot}@${v}`;
    const { state, arrays: names } = JSON.parse(await Deno.readTextFile(`${d}/state.json`));
    const arrays: Record<string, NDArray> = {};
    for (const n of names as string[]) arrays[n] = await readArray(`${d}/arrays`, n);
    return { state, arrays };
  }

  /** Slots with at least one saved version. */
  async list(): Promise<string[]> {
    const out = new Set<string>();
    try {
      for await (const e of Deno.readDir(this.dir)) {
        const m = e.name.match(/^(.+)@\d+$/);
        if (m) out.add(m[1]);
      }
    } catch { /* none */ }
    return [...out].sort();
  }
}
