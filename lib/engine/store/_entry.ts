/**
 * Writing and reading one entry of the store (private): an {@link EntryWriter} fills a temporary
 * directory and publishes it with one `rename`; an {@link EntryReader} reads a published entry.
 *
 * @module
 */
import type { NDArray } from "../../array.ts";
import type { Store } from "./store.ts";
import { type ArrayInfo, readArray, readRows, writeArray } from "./zarr.ts";
import { checkName, exists } from "./_files.ts";
import { type Manifest, type ManifestBase, sealManifest } from "./_manifest.ts";

/**
 * Writes one entry's outputs into its temporary directory, then publishes them atomically.
 *
 * @example
 * ```ts
 * const w = await store.begin("abc123");
 * await w.writeJson("summary", { ok: true });
 * await w.publish({ task: "t", version: 1, stage: "s", params: {}, seed: 0, inputs: {}, metrics: {}, meta: {} });
 * ```
 */
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
    const manifest = await sealManifest(this.dir, this.key, base, this);
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

/**
 * Read access to a published entry.
 *
 * @example
 * ```ts
 * const r = store.reader(key, await store.manifest(key));
 * const x = await r.array("samples");
 * ```
 */
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
