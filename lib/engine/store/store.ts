/**
 * The content-addressed store of stage outputs.
 *
 * ```
 * STORE                        format marker
 * LOCK                         held by the run that owns the store (pid, host, command)
 * entries/<key>/               published outputs of one stage key, always whole:
 *   manifest.json              key, task, params, inputs, arrays, metrics, meta, checksums, digest
 *   arrays/                    a Zarr v3 group: one array per tensor output
 *   json/<name>.json           JSON documents
 *   files/<name>               other files (pictures, HTML)
 * tmp/<key>.<pid>.<n>/         outputs being written; renamed into entries/ when complete
 * checkpoints/<key>/<slot>@<n> resumable state of an unfinished stage
 * locks/<key>                  held while one process computes that key
 * refs/<stage id>.json         what each stage id last published (for `status` to say why)
 * quarantine/<key>.<time>/     damaged entries moved aside (never read, removed by gc)
 * ```
 *
 * Publishing is one `rename` of a complete directory, so a reader sees an entry whole or not at
 * all, whatever happens to the writer. Every file of an entry is listed in its manifest with its
 * size and SHA-256, and the manifest carries a digest of itself: an entry is checked before it is
 * reused, and a damaged one is quarantined and recomputed.
 *
 * @module
 */
import { duBytes, exists, isKey, nextTmpNumber, readDirOrNone, StoreError } from "./_files.ts";
import { type HeldLock, hostname, type LockOptions, removeDebris, takeLock } from "./_lock.ts";
import { checkEntry, type EntryState, FORMAT, type Manifest, verifyChecksums } from "./_manifest.ts";
import { EntryReader, EntryWriter } from "./_entry.ts";
import { CheckpointDir, type CheckpointOptions } from "./_checkpoints.ts";

export { type HeldLock, type LockInfo, type LockOptions, StoreLockedError } from "./_lock.ts";
export type { EntryState, Manifest, ManifestBase } from "./_manifest.ts";
export { EntryReader, EntryWriter } from "./_entry.ts";
export { CheckpointDir, type CheckpointOptions } from "./_checkpoints.ts";
export { StoreError } from "./_files.ts";

/** Subdirectories of every store. */
const DIRS = ["entries", "tmp", "checkpoints", "locks", "refs", "quarantine"];

/** Every subdirectory the store writes into (the Slurm executor adds `logs` and `slurm`). */
const OWN_DIRS = [...DIRS, "logs", "slurm"];

/**
 * A store rooted at a directory.
 *
 * @example
 * ```ts
 * const store = await Store.open(".store");
 * const w = await store.begin("abc123");
 * await w.writeArray("x", { shape: [2], data: new Float32Array([1, 2]) });
 * await w.publish({ task: "t", version: 1, stage: "s", params: {}, seed: 0, inputs: {}, metrics: {}, meta: {} });
 * ```
 */
export class Store {
  /** Entries whose files were fully hashed in this process. */
  #verified = new Set<string>();

  private constructor(readonly root: string) {}

  /**
   * Open the store at `root`. With `create: false` (read-only commands, dry runs) nothing is
   * written: a store that does not exist yet reads as empty.
   */
  static async open(root: string, opts: { create?: boolean } = {}): Promise<Store> {
    const marker = `${root}/STORE`;
    if (opts.create === false) {
      if (await exists(marker)) await Store.#checkFormat(root, marker);
      await Store.#refuseLinks(root);
      return new Store(root);
    }
    if (!(await exists(marker))) {
      // Never take over a directory that holds something else: gc would delete it.
      const [found] = await readDirOrNone(root);
      if (found) {
        throw new StoreError(
          `store directory ${root} is not empty and is not a store (found "${found.name}", no STORE marker); choose another \`store:\``,
        );
      }
    }
    await Deno.mkdir(root, { recursive: true });
    if (await exists(marker)) await Store.#checkFormat(root, marker);
    else await Deno.writeTextFile(marker, JSON.stringify({ format: FORMAT }) + "\n");
    await Store.#refuseLinks(root);
    for (const d of DIRS) await Deno.mkdir(`${root}/${d}`, { recursive: true });
    return new Store(root);
  }

  /**
   * Refuse a store whose own subdirectories are symbolic links: gc and the clean-up delete what
   * they find there, and must never delete anything outside the store.
   */
  static async #refuseLinks(root: string): Promise<void> {
    for (const d of OWN_DIRS) {
      const path = `${root}/${d}`;
      let st: Deno.FileInfo;
      try {
        st = await Deno.lstat(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      if (st.isSymlink || !st.isDirectory) {
        const what = st.isSymlink ? `a symbolic link (to ${await Deno.readLink(path)})` : "not a directory";
        throw new StoreError(
          `${path} is ${what}: the store never follows links out of itself (gc would delete what ` +
            `they point to). Move that directory into ${root} in place of the link, or choose another \`store:\`.`,
        );
      }
    }
  }

  static async #checkFormat(root: string, marker: string): Promise<void> {
    let m: { format?: number };
    try {
      m = JSON.parse(await Deno.readTextFile(marker));
    } catch {
      throw new StoreError(`${marker} is not a store marker: is ${root} really a store?`);
    }
    if (m?.format !== FORMAT) {
      throw new StoreError(`store ${root} has format ${m.format}; this version reads format ${FORMAT}`);
    }
  }

  /** Directory of a published entry. */
  entryDir(key: string): string {
    return `${this.root}/entries/${key}`;
  }

  // ---------------------------------------------------------------- locks

  /** Take the store's run lock; throws {@link StoreLockedError} (or waits, with `wait`). */
  lock(command: string, opts: LockOptions = {}): Promise<HeldLock> {
    return takeLock(`${this.root}/LOCK`, command, opts);
  }

  /** Take the per-key lock held while one process computes `key`. */
  lockKey(key: string, command: string, opts: { wait?: boolean } = {}): Promise<HeldLock> {
    return takeLock(`${this.root}/locks/${key}`, command, opts);
  }

  /** Remove temporary directories and key locks left by processes that died. */
  cleanDebris(): Promise<string[]> {
    return removeDebris(this.root);
  }

  // ---------------------------------------------------------------- entries

  /**
   * Check an entry: its manifest's digest, that it is the manifest of `key`, and that every file
   * it lists is there with its size. With `full`, also hash every file (done once per process).
   */
  async check(key: string, full = false): Promise<EntryState> {
    const dir = this.entryDir(key);
    const state = await checkEntry(dir, key);
    if (state.state !== "ok" || !full || this.#verified.has(key)) return state;
    const reason = await verifyChecksums(dir, state.manifest);
    if (reason !== null) return { state: "damaged", reason };
    this.#verified.add(key);
    return state;
  }

  /** The manifest of a published entry (throws when missing or damaged). */
  async manifest(key: string): Promise<Manifest> {
    const s = await this.check(key);
    if (s.state !== "ok") {
      throw new Error(`store entry ${key} is ${s.state === "missing" ? "missing" : `damaged: ${s.reason}`}`);
    }
    return s.manifest;
  }

  /** Move a damaged entry aside so that it is recomputed; nothing is deleted. */
  async quarantine(key: string): Promise<string> {
    const to = `${this.root}/quarantine/${key}.${Date.now()}`;
    await Deno.rename(this.entryDir(key), to);
    this.#verified.delete(key);
    return to;
  }

  /** Start writing the outputs of `key` in a private temporary directory. */
  async begin(key: string): Promise<EntryWriter> {
    const dir = `${this.root}/tmp/${key}.${Deno.pid}.${nextTmpNumber()}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/.host`, hostname());
    return new EntryWriter(this, key, dir);
  }

  /** Keys of every published entry. */
  async keys(): Promise<string[]> {
    const entries = await readDirOrNone(`${this.root}/entries`);
    return entries.filter((e) => e.isDirectory).map((e) => e.name).sort();
  }

  /** Read access to a published entry. */
  reader(key: string, manifest: Manifest): EntryReader {
    return new EntryReader(this.entryDir(key), manifest);
  }

  // ---------------------------------------------------------------- refs

  /** Record that stage `id` last published (or found) `manifest`'s key. */
  async writeRef(id: string, ref: StageRef): Promise<void> {
    const p = `${this.root}/refs/${encodeURIComponent(id)}.json`;
    const tmp = `${p}.${Deno.pid}.${nextTmpNumber()}`;
    await Deno.writeTextFile(tmp, JSON.stringify(ref, null, 1) + "\n");
    await Deno.rename(tmp, p);
  }

  /** What stage `id` last published, or null. */
  async readRef(id: string): Promise<StageRef | null> {
    try {
      return JSON.parse(await Deno.readTextFile(`${this.root}/refs/${encodeURIComponent(id)}.json`));
    } catch {
      return null;
    }
  }

  // ---------------------------------------------------------------- checkpoints

  /** Checkpoints of an unfinished stage `key` (with `discard`, versions failing their check are removed). */
  checkpoints(key: string, opts: CheckpointOptions = {}): CheckpointDir {
    return new CheckpointDir(`${this.root}/checkpoints/${key}`, opts);
  }

  /** Remove the checkpoints of `key` (after it is published). */
  async dropCheckpoints(key: string): Promise<void> {
    await Deno.remove(`${this.root}/checkpoints/${key}`, { recursive: true }).catch(() => {});
  }

  // ---------------------------------------------------------------- gc

  /**
   * Remove entries, checkpoints and refs whose keys are not in `keep`, and everything quarantined.
   * Returns what was (or, with `dryRun`, would be) removed, and the bytes freed.
   */
  async gc(
    keep: Set<string>,
    keepIds: Set<string>,
    dryRun = false,
  ): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    const drop = async (rel: string) => {
      const p = `${this.root}/${rel}`;
      bytes += await duBytes(p);
      removed.push(rel);
      if (!dryRun) await Deno.remove(p, { recursive: true });
    };
    // Only names the store made are considered (a key, `<key>.<suffix>`, `<id>.json`): nothing
    // else is deleted, and links are removed as links (the store refuses linked subdirectories).
    const keyOf = (name: string) => name.slice(0, 32);
    for (const k of await this.keys()) if (isKey(k) && !keep.has(k)) await drop(`entries/${k}`);
    for (const e of await readDirOrNone(`${this.root}/checkpoints`)) {
      if (isKey(e.name) && !keep.has(e.name)) await drop(`checkpoints/${e.name}`);
    }
    for (const e of await readDirOrNone(`${this.root}/quarantine`)) {
      if (isKey(keyOf(e.name)) && e.name[32] === ".") await drop(`quarantine/${e.name}`);
    }
    // Cluster logs and job records are named after the key they ran: `<key>.<job>.out`, `<key>.json`, `<key>.sh`.
    for (const dir of ["logs", "slurm"]) {
      for (const e of await readDirOrNone(`${this.root}/${dir}`)) {
        const k = keyOf(e.name);
        if (isKey(k) && e.name[32] === "." && !keep.has(k)) await drop(`${dir}/${e.name}`);
      }
    }
    for (const e of await readDirOrNone(`${this.root}/refs`)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      let id: string;
      try {
        id = decodeURIComponent(e.name.replace(/\.json$/, ""));
      } catch {
        continue; // not a name the store wrote
      }
      if (!keepIds.has(id)) await drop(`refs/${e.name}`);
    }
    return { removed, bytes };
  }
}

/** What a stage id last published: enough for `status` to explain a changed key. */
export interface StageRef extends Pick<Manifest, "key" | "task" | "version" | "params" | "seed" | "inputs"> {
  /** When it was published. */
  at: string;
}
