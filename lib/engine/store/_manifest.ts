/**
 * Manifests of store entries (private): what an entry says about itself, the size and SHA-256 of
 * every file of the entry, and the digest that seals the manifest.
 *
 * @module
 */
import { canonicalJson, sha256, sha256File } from "./hash.ts";
import type { ArrayInfo } from "./zarr.ts";
import { exists, listFiles } from "./_files.ts";

/** Format of the store's layout, in its `STORE` marker and every manifest. */
export const FORMAT = 1;

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

/** Fields of a manifest given by the writer (the rest is computed at publish). */
export type ManifestBase = Omit<
  Manifest,
  "format" | "key" | "arrays" | "json" | "files" | "checksums" | "digest"
>;

/** Result of checking an entry. */
export type EntryState = { state: "ok"; manifest: Manifest } | { state: "missing" } | {
  state: "damaged";
  reason: string;
};

/** What an entry holds, as its writer recorded it. */
export type EntryOutputs = Pick<Manifest, "arrays" | "json" | "files">;

/** The digest of a manifest's other fields. */
function digestOf(rest: Omit<Manifest, "digest">): string {
  return sha256(canonicalJson(rest));
}

/**
 * Check the entry of `key` in directory `dir` without hashing its files: its manifest's digest,
 * that it is the manifest of `key`, and that every file it lists is there with its size.
 *
 * @example
 * ```ts
 * const s = await checkEntry(".store/entries/abc", "abc");
 * if (s.state === "damaged") console.log(s.reason);
 * ```
 */
export async function checkEntry(dir: string, key: string): Promise<EntryState> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/manifest.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return (await exists(dir))
        ? { state: "damaged", reason: "manifest.json is missing" }
        : { state: "missing" };
    }
    // Replaced by a file, or its manifest by a directory: damaged, set aside like any other damage.
    if (e instanceof Deno.errors.NotADirectory) {
      return { state: "damaged", reason: "the entry is not a directory" };
    }
    if (e instanceof Deno.errors.IsADirectory) {
      return { state: "damaged", reason: "manifest.json is a directory" };
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
  if (digest !== digestOf(rest)) {
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
  return { state: "ok", manifest };
}

/**
 * Hash every file of the entry in `dir` against its manifest: the reason it is damaged, or null.
 *
 * @example
 * ```ts
 * const bad = await verifyChecksums(".store/entries/abc", manifest); // "arrays/x/c/0 does not match its checksum"
 * ```
 */
export async function verifyChecksums(dir: string, manifest: Manifest): Promise<string | null> {
  for (const [rel, c] of Object.entries(manifest.checksums)) {
    if (await sha256File(`${dir}/${rel}`) !== c.sha256) return `${rel} does not match its checksum`;
  }
  return null;
}

/**
 * Checksum every file of the entry being written in `dir`, then write and return its sealed
 * manifest (`manifest.json`).
 *
 * @example
 * ```ts
 * const m = await sealManifest(tmpDir, "abc", base, { arrays, json: [], files: [] });
 * ```
 */
export async function sealManifest(
  dir: string,
  key: string,
  base: ManifestBase,
  outputs: EntryOutputs,
): Promise<Manifest> {
  const checksums: Manifest["checksums"] = {};
  for (const rel of await listFiles(dir)) {
    const st = await Deno.stat(`${dir}/${rel}`);
    checksums[rel] = { size: st.size, sha256: await sha256File(`${dir}/${rel}`) };
  }
  const rest = {
    format: FORMAT,
    key,
    ...base,
    arrays: outputs.arrays,
    json: outputs.json,
    files: outputs.files,
    checksums,
  };
  const manifest: Manifest = { ...rest, digest: digestOf(rest) };
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest, null, 1) + "\n");
  return manifest;
}
