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
import { canonicalJson, sha256, sha256File } from "./hash.ts";
import type { NDArray } from "../../array.ts";
import { type ArrayInfo, readArray, readRows, writeArray } from "./zarr.ts";

const FORMAT = 1;

/** What a published entry says about itself. */
export interface Manifest {
  format: number;
  key: string;
  task: string;
  version: number;
  /** Stage id that produced it (informative: the key does not depend on it beyond the seed). */
  stage: string;
  params: Record<string, unknown>;
  seed: number;
  /** Input name → key(s). */
  inputs: Record<string, string | string[]>;
  arrays: Record<string, ArrayInfo>;
  json: string[];
  files: string[];
  metrics: Record<string, unknown>;
  meta: Record<string, unknown>;
  /** Relative path → size and SHA-256 of every file of the entry but the manifest. */
  checksums: Record<string, { size: number; sha256: string }>;
  /** SHA-256 of the canonical JSON of every other field. */
  digest: string;
}

/** Result of checking an entry. */
export type EntryState = { state: "ok"; manifest: Manifest } | { state: "missing" } | {
  state: "damaged";
  reason: string;
};

/** Who holds a lock. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** Kernel start time of the process, to tell a live holder from a reused pid. */
  procStart?: string;
}

/** The store is locked by a live process. */
export class StoreLockedError extends Error {
  constructor(readonly holder: LockInfo, readonly path: string) {
    super(
      `store ${
        path.replace(/\/LOCK$/, "")
      } is in use by pid ${holder.pid} on ${holder.host} since ${holder.started} ` +
        `(${holder.command}). Wait for it to finish, or rerun with --wait to queue behind it. ` +
        `If that process is gone for good (another host), remove ${path}.`,
    );
    this.name = "StoreLockedError";
  }
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

function procStart(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // A zombie (killed, not yet reaped: common under a container's init) is not alive.
    if (fields[0] === "Z" || fields[0] === "X") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote `info` still running? (Unknowable on another host: assume yes.) */
export function holderAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true;
  const start = procStart(info.pid);
  if (start === undefined) return false;
  return info.procStart === undefined || info.procStart === start;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, rel));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

/** A held lock file; release it when done. */
export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

let tmpCounter = 0;

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
      return new Store(root);
    }
    if (!(await exists(marker))) {
      // Never take over a directory that holds something else: gc would delete it.
      try {
        for await (const e of Deno.readDir(root)) {
          throw new Error(
            `store directory ${root} is not empty and is not a store (found "${e.name}", no STORE marker); choose another \`store:\``,
          );
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    await Deno.mkdir(root, { recursive: true });
    if (await exists(marker)) await Store.#checkFormat(root, marker);
    else await Deno.writeTextFile(marker, JSON.stringify({ format: FORMAT }) + "\n");
    for (const d of ["entries", "tmp", "checkpoints", "locks", "refs", "quarantine"]) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    return new Store(root);
  }

  static async #checkFormat(root: string, marker: string): Promise<void> {
    let m: { format?: number };
    try {
      m = JSON.parse(await Deno.readTextFile(marker));
    } catch {
      throw new Error(`${marker} is not a store marker: is ${root} really a store?`);
    }
    if (m.format !== FORMAT) {
      throw new Error(`store ${root} has format ${m.format}; this version reads format ${FORMAT}`);
    }
  }

  /** Directory of a published entry. */
  entryDir(key: string): string {
    return `${this.root}/entries/${key}`;
  }

  // ---------------------------------------------------------------- locks

  /** Take the store's run lock; throws {@link StoreLockedError} (or waits, with `wait`). */
  lock(command: string, opts: { wait?: boolean; onWait?: (h: LockInfo) => void } = {}): Promise<HeldLock> {
    return this.#lockFile(`${this.root}/LOCK`, command, opts);
  }

  /** Take the per-key lock held while one process computes `key`. */
  lockKey(key: string, command: string, opts: { wait?: boolean } = {}): Promise<HeldLock> {
    return this.#lockFile(`${this.root}/locks/${key}`, command, opts);
  }

  async #lockFile(
    path: string,
    command: string,
    opts: { wait?: boolean; onWait?: (h: LockInfo) => void },
  ): Promise<HeldLock> {
    const info: LockInfo = {
      pid: Deno.pid,
      host: hostname(),
      started: new Date().toISOString(),
      command,
      procStart: procStart(Deno.pid),
    };
    const tmp = `${path}.${Deno.pid}.${++tmpCounter}`;
    await Deno.writeTextFile(tmp, JSON.stringify(info) + "\n");
    let told = false;
    try {
      while (true) {
        try {
          await Deno.link(tmp, path); // atomic: fails when the lock exists
          break;
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        }
        let holder: LockInfo | null = null;
        try {
          holder = JSON.parse(await Deno.readTextFile(path));
        } catch {
          continue; // released between link and read
        }
        if (holder && !holderAlive(holder)) {
          await Deno.remove(path).catch(() => {});
          continue;
        }
        if (!opts.wait) throw new StoreLockedError(holder!, path);
        if (!told) opts.onWait?.(holder!);
        told = true;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        // Only remove the lock if it is still ours.
        try {
          const cur = JSON.parse(await Deno.readTextFile(path)) as LockInfo;
          if (cur.pid === info.pid && cur.started === info.started) await Deno.remove(path);
        } catch { /* already gone */ }
      },
    };
  }

  /** Remove temporary directories and key locks left by processes that died. */
  async cleanDebris(): Promise<string[]> {
    const removed: string[] = [];
    const me = hostname();
    for await (const e of Deno.readDir(`${this.root}/tmp`)) {
      const m = e.name.match(/\.(\d+)\.(\d+)$/);
      const host = await Deno.readTextFile(`${this.root}/tmp/${e.name}/.host`).catch(() => me);
      if (m && host.trim() === me && procStart(Number(m[1])) === undefined) {
        await Deno.remove(`${this.root}/tmp/${e.name}`, { recursive: true });
        removed.push(`tmp/${e.name}`);
      }
    }
    for await (const e of Deno.readDir(`${this.root}/locks`)) {
      const p = `${this.root}/locks/${e.name}`;
      try {
        const info = JSON.parse(await Deno.readTextFile(p)) as LockInfo;
        if (!holderAlive(info)) {
          await Deno.remove(p);
          removed.push(`locks/${e.name}`);
        }
      } catch { /* being written or gone */ }
    }
    return removed;
  }

  // ---------------------------------------------------------------- entries

  /**
   * Check an entry: its manifest's digest, that it is the manifest of `key`, and that every file
   * it lists is there with its size. With `full`, also hash every file (done once per process).
   */
  async check(key: string, full = false): Promise<EntryState> {
    const dir = this.entryDir(key);
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/manifest.json`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return (await exists(dir))
          ? { state: "damaged", reason: "manifest.json is missing" }
          : { state: "missing" };
      }
      throw e;
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(text);
    } catch {
      return { state: "damaged", reason: "manifest.json is not valid JSON" };
    }
    const { digest, ...rest } = manifest;
    if (digest !== sha256(canonicalJson(rest))) {
      return { state: "damaged", reason: "manifest.json was modified (digest mismatch)" };
    }
    if (manifest.key !== key) return { state: "damaged", reason: `manifest is for key ${manifest.key}` };
    for (const [rel, c] of Object.entries(manifest.checksums)) {
      let size: number;
      try {
        size = (await Deno.stat(`${dir}/${rel}`)).size;
      } catch {
        return { state: "damaged", reason: `${rel} is missing` };
      }
      if (size !== c.size) {
        return { state: "damaged", reason: `${rel} has ${size} bytes, expected ${c.size}` };
      }
    }
    if (full && !this.#verified.has(key)) {
      for (const [rel, c] of Object.entries(manifest.checksums)) {
        if (await sha256File(`${dir}/${rel}`) !== c.sha256) {
          return { state: "damaged", reason: `${rel} does not match its checksum` };
        }
      }
      this.#verified.add(key);
    }
    return { state: "ok", manifest };
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
    const dir = `${this.root}/tmp/${key}.${Deno.pid}.${++tmpCounter}`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/.host`, hostname());
    return new EntryWriter(this, key, dir);
  }

  /** Keys of every published entry. */
  async keys(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(`${this.root}/entries`)) if (e.isDirectory) out.push(e.name);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out.sort();
  }

  /** Read access to a published entry. */
  reader(key: string, manifest: Manifest): EntryReader {
    return new EntryReader(this.entryDir(key), manifest);
  }

  // ---------------------------------------------------------------- refs

  /** Record that stage `id` last published (or found) `manifest`'s key. */
  async writeRef(id: string, ref: StageRef): Promise<void> {
    const p = `${this.root}/refs/${encodeURIComponent(id)}.json`;
    const tmp = `${p}.${Deno.pid}.${++tmpCounter}`;
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

  /** Checkpoints of an unfinished stage `key`. */
  checkpoints(key: string): CheckpointDir {
    return new CheckpointDir(`${this.root}/checkpoints/${key}`);
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
    for (const k of await this.keys()) if (!keep.has(k)) await drop(`entries/${k}`);
    for await (const e of Deno.readDir(`${this.root}/checkpoints`)) {
      if (!keep.has(e.name)) await drop(`checkpoints/${e.name}`);
    }
    for await (const e of Deno.readDir(`${this.root}/quarantine`)) await drop(`quarantine/${e.name}`);
    // Cluster logs and job records are named after the key they ran: `<key>.<job>.out`, `<key>.json`, `<key>.sh`.
    for (const dir of ["logs", "slurm"]) {
      try {
        for await (const e of Deno.readDir(`${this.root}/${dir}`)) {
          if (!keep.has(e.name.slice(0, e.name.indexOf(".")))) await drop(`${dir}/${e.name}`);
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    for await (const e of Deno.readDir(`${this.root}/refs`)) {
      const id = decodeURIComponent(e.name.replace(/\.json$/, ""));
      if (!keepIds.has(id)) await drop(`refs/${e.name}`);
    }
    return { removed, bytes };
  }
}

async function duBytes(path: string): Promise<number> {
  const st = await Deno.lstat(path);
  if (!st.isDirectory) return st.size;
  let n = 0;
  for await (const e of Deno.readDir(path)) n += await duBytes(`${path}/${e.name}`);
  return n;
}

/** What a stage id last published: enough for `status` to explain a changed key. */
export interface StageRef {
  key: string;
  task: string;
  version: number;
  params: Record<string, unknown>;
  seed: number;
  inputs: Record<string, string | string[]>;
  at: string;
}

/** Fields of a manifest given by the writer (the rest is computed at publish). */
export type ManifestBase = Omit<
  Manifest,
  "format" | "key" | "arrays" | "json" | "files" | "checksums" | "digest"
>;

/** Writes one entry's outputs into its temporary directory, then publishes them atomically. */
export class EntryWriter {
  readonly arrays: Record<string, ArrayInfo> = {};
  readonly json: string[] = [];
  readonly files: string[] = [];

  constructor(readonly store: Store, readonly key: string, readonly dir: string) {}

  /** Write a tensor output. */
  async writeArray(name: string, array: NDArray, attributes: Record<string, unknown> = {}): Promise<void> {
    if (name in this.arrays) throw new Error(`array "${name}" written twice`);
    this.arrays[name] = await writeArray(`${this.dir}/arrays`, name, array, attributes);
  }

  /** Write a JSON output. */
  async writeJson(name: string, value: unknown): Promise<void> {
    checkName(name);
    await Deno.mkdir(`${this.dir}/json`, { recursive: true });
    await Deno.writeTextFile(`${this.dir}/json/${name}.json`, JSON.stringify(value, null, 1) + "\n");
    if (!this.json.includes(name)) this.json.push(name);
  }

  /** Write a raw file output. */
  async writeFile(name: string, bytes: Uint8Array): Promise<void> {
    checkName(name);
    await Deno.mkdir(`${this.dir}/files`, { recursive: true });
    await Deno.writeFile(`${this.dir}/files/${name}`, bytes);
    if (!this.files.includes(name)) this.files.push(name);
  }

  /**
   * Checksum every file, write the manifest, and rename the directory into `entries/`.
   * With `replace`, an existing entry of the same key is moved aside first (forced reruns).
   */
  async publish(base: ManifestBase, replace = false): Promise<Manifest> {
    await Deno.remove(`${this.dir}/.host`).catch(() => {});
    const checksums: Manifest["checksums"] = {};
    for (const rel of await listFiles(this.dir)) {
      const st = await Deno.stat(`${this.dir}/${rel}`);
      checksums[rel] = { size: st.size, sha256: await sha256File(`${this.dir}/${rel}`) };
    }
    const rest = {
      format: FORMAT,
      key: this.key,
      ...base,
      arrays: this.arrays,
      json: this.json,
      files: this.files,
      checksums,
    };
    const manifest: Manifest = { ...rest, digest: sha256(canonicalJson(rest)) };
    await Deno.writeTextFile(`${this.dir}/manifest.json`, JSON.stringify(manifest, null, 1) + "\n");
    const target = this.store.entryDir(this.key);
    if (replace && await exists(target)) {
      await Deno.rename(target, `${this.store.root}/quarantine/${this.key}.replaced.${Date.now()}`);
    }
    try {
      await Deno.rename(this.dir, target);
    } catch (e) {
      // Another process published the same key first: keep theirs (same key, same content).
      if (await exists(`${target}/manifest.json`)) {
        await this.abort();
        return JSON.parse(await Deno.readTextFile(`${target}/manifest.json`));
      }
      throw e;
    }
    return manifest;
  }

  /** Discard what was written. */
  async abort(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new Error(`invalid output name "${name}"`);
  }
}

/** Read access to a published entry. */
export class EntryReader {
  constructor(readonly dir: string, readonly manifest: Manifest) {}

  /** Read a whole array. */
  array(name: string): Promise<NDArray> {
    this.#need(name);
    return readArray(`${this.dir}/arrays`, name);
  }

  /** Read rows `[start, stop)` of an array. */
  rows(name: string, start: number, stop: number): Promise<NDArray> {
    this.#need(name);
    return readRows(`${this.dir}/arrays`, name, start, stop);
  }

  /** Read a JSON output. */
  async json<T>(name: string): Promise<T> {
    if (!this.manifest.json.includes(name)) {
      throw new Error(
        `entry of ${this.manifest.stage} (${this.manifest.task}) has no JSON "${name}" (has: ${
          this.manifest.json.join(", ") || "none"
        })`,
      );
    }
    return JSON.parse(await Deno.readTextFile(`${this.dir}/json/${name}.json`));
  }

  /** Path of a raw file output. */
  filePath(name: string): string {
    if (!this.manifest.files.includes(name)) {
      throw new Error(`entry of ${this.manifest.stage} has no file "${name}"`);
    }
    return `${this.dir}/files/${name}`;
  }

  #need(name: string): void {
    if (!(name in this.manifest.arrays)) {
      throw new Error(
        `entry of ${this.manifest.stage} (${this.manifest.task}) has no array "${name}" (has: ${
          Object.keys(this.manifest.arrays).join(", ") || "none"
        })`,
      );
    }
  }
}

/**
 * Named checkpoint slots of one stage key. Each save writes a new version `<slot>@<n>` in a
 * temporary directory, renames it into place, then removes older versions: a crash at any point
 * leaves the last complete version loadable.
 */
export class CheckpointDir {
  constructor(readonly dir: string) {}

  async #versions(slot: string): Promise<number[]> {
    const out: number[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        const m = e.name.match(/^(.+)@(\d+)$/);
        if (m && m[1] === slot) out.push(Number(m[2]));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
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
    const tmp = `${this.dir}/.tmp-${Deno.pid}-${++tmpCounter}`;
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
