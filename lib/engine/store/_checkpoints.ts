/**
 * Checkpoint slots of unfinished stages (private): `checkpoints/<key>/<slot>@<n>`.
 *
 * Like an entry, a checkpoint lists the size and SHA-256 of each of its files, and its
 * `state.json` carries a digest of itself: a version that fails its check (a flipped byte, a
 * truncated chunk, garbage, a slot left half-removed by a kill) is never read. Where the stage
 * that owns the key reads it, such a version is removed, said in the log, and its work redone.
 *
 * @module
 */
import type { NDArray } from "../../array.ts";
import { readArray, writeArray } from "./zarr.ts";
import { checkName, listFiles, nextTmpNumber, readDirOrNone } from "./_files.ts";
import { sha256, sha256File } from "./hash.ts";

/** What `state.json` of a checkpoint version holds. */
interface CheckpointBody {
  state: Record<string, unknown>;
  arrays: string[];
  /** Relative path → size and SHA-256 of every other file of the version. */
  checksums: Record<string, { size: number; sha256: string }>;
}

/** How a {@link CheckpointDir} treats versions that fail their check. */
export interface CheckpointOptions {
  /**
   * Remove such versions, saying so through this function (the stage that owns the key). Without
   * it (status, plans, verify), they are only skipped: nothing is written.
   */
  discard?: (message: string) => void;
}

/**
 * Named checkpoint slots of one stage key. Each save writes a new version `<slot>@<n>` in a
 * temporary directory, renames it into place, then removes older versions: a crash at any point
 * leaves the last complete version loadable.
 *
 * @example
 * ```ts
 * const cp = store.checkpoints(key, { discard: (m) => console.log(m) });
 * await cp.save("train", { step: 100 }, { w: { shape: [2], data: new Float32Array(2) } });
 * (await cp.load("train"))?.state.step; // 100
 * ```
 */
export class CheckpointDir {
  /** Versions checked in this process (a version never changes once renamed into place). */
  #checked = new Map<string, CheckpointBody>();

  constructor(readonly dir: string, readonly opts: CheckpointOptions = {}) {}

  /** Every version directory on disk, complete or not: slot → versions, ascending. */
  async #all(): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const e of await readDirOrNone(this.dir)) {
      const m = e.name.match(/^(.+)@(\d+)$/);
      if (!m || !e.isDirectory) continue;
      out.set(m[1], [...(out.get(m[1]) ?? []), Number(m[2])]);
    }
    for (const v of out.values()) v.sort((a, b) => a - b);
    return out;
  }

  /** Save a slot atomically. */
  async save(
    slot: string,
    state: Record<string, unknown>,
    arrays: Record<string, NDArray> = {},
  ): Promise<void> {
    checkName(slot.replace(/\//g, "_"));
    await Deno.mkdir(this.dir, { recursive: true });
    const versions = (await this.#all()).get(slot) ?? [];
    const next = (versions.at(-1) ?? 0) + 1;
    const tmp = `${this.dir}/.tmp-${Deno.pid}-${nextTmpNumber()}`;
    await Deno.mkdir(tmp, { recursive: true });
    for (const [name, a] of Object.entries(arrays)) await writeArray(`${tmp}/arrays`, name, a);
    const checksums: CheckpointBody["checksums"] = {};
    for (const rel of await listFiles(tmp)) {
      const st = await Deno.stat(`${tmp}/${rel}`);
      checksums[rel] = { size: st.size, sha256: await sha256File(`${tmp}/${rel}`) };
    }
    const body = JSON.stringify({ state, arrays: Object.keys(arrays), checksums });
    await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify({ body, digest: sha256(body) }));
    await Deno.rename(tmp, `${this.dir}/${slot}@${next}`);
    for (const v of versions) {
      await Deno.remove(`${this.dir}/${slot}@${v}`, { recursive: true }).catch(() => {});
    }
  }

  /** Load the latest version of a slot that passes its check, or null. */
  async load(
    slot: string,
  ): Promise<{ state: Record<string, unknown>; arrays: Record<string, NDArray> } | null> {
    const body = await this.#latest(slot, (await this.#all()).get(slot) ?? []);
    if (!body) return null;
    const d = `${this.dir}/${slot}@${body.version}`;
    const arrays: Record<string, NDArray> = {};
    for (const n of body.arrays) arrays[n] = await readArray(`${d}/arrays`, n);
    return { state: body.state, arrays };
  }

  /** Slots with a version that passes its check. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const [slot, versions] of await this.#all()) {
      if (await this.#latest(slot, versions)) out.push(slot);
    }
    return out.sort();
  }

  /**
   * Every version of every slot that fails its check, with the reason (nothing is removed).
   *
   * @example
   * ```ts
   * for (const d of await store.checkpoints(key).damaged()) console.log(`${d.path}: ${d.reason}`);
   * ```
   */
  async damaged(): Promise<{ path: string; reason: string }[]> {
    const out: { path: string; reason: string }[] = [];
    for (const [slot, versions] of await this.#all()) {
      for (const v of versions) {
        const path = `${this.dir}/${slot}@${v}`;
        const checked = await checkVersion(path);
        if (typeof checked === "string") out.push({ path, reason: checked });
      }
    }
    return out;
  }

  /** The newest version of `slot` passing its check; newer ones failing it are discarded. */
  async #latest(slot: string, versions: number[]): Promise<(CheckpointBody & { version: number }) | null> {
    for (const v of [...versions].reverse()) {
      const path = `${this.dir}/${slot}@${v}`;
      const checked = this.#checked.get(path) ?? await checkVersion(path);
      if (typeof checked !== "string") {
        this.#checked.set(path, checked);
        return { ...checked, version: v };
      }
      if (this.opts.discard) {
        await Deno.remove(path, { recursive: true }).catch(() => {});
        this.opts.discard(
          `checkpoint ${slot}@${v} failed its check (${checked}): discarded, its work is redone`,
        );
      }
    }
    return null;
  }
}

/** The body of the checkpoint version in `dir`, or why it cannot be read. */
async function checkVersion(dir: string): Promise<CheckpointBody | string> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/state.json`);
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? "incomplete: state.json is missing" : (e as Error).message;
  }
  let body: CheckpointBody;
  try {
    const sealed = JSON.parse(text) as { body?: unknown; digest?: unknown };
    if (typeof sealed.body !== "string" || sealed.digest !== sha256(sealed.body)) {
      return "state.json was modified or written by an older version (digest mismatch)";
    }
    body = JSON.parse(sealed.body);
  } catch {
    return "state.json is not valid JSON";
  }
  for (const [rel, c] of Object.entries(body.checksums)) {
    // One try for the size and the digest: a stage running beside this listing may prune an older
    // version between the two reads, and a vanished file is then a version that fails its check.
    try {
      if ((await Deno.stat(`${dir}/${rel}`)).size !== c.size) return `${rel} has the wrong size`;
      if (await sha256File(`${dir}/${rel}`) !== c.sha256) return `${rel} does not match its checksum`;
    } catch (e) {
      return e instanceof Deno.errors.NotFound
        ? `${rel} is missing`
        : `${rel} cannot be read: ${(e as Error).message}`;
    }
  }
  return body;
}
