/**
 * The store of stage outputs: content-addressed entries published whole, checked before reuse,
 * with locks, checkpoints, refs and gc ({@link Store}); tensors in Zarr v3 ({@link writeArray},
 * {@link readArray}); canonical JSON and SHA-256 for keys and checksums ({@link canonicalJson}).
 *
 * @example
 * ```ts
 * import { Store } from "./lib/engine/store/mod.ts";
 *
 * const store = await Store.open(".store");
 * const state = await store.check("6d53…");
 * if (state.state === "ok") console.log(state.manifest.metrics);
 * ```
 *
 * @module
 */
export {
  CheckpointDir,
  EntryReader,
  type EntryState,
  EntryWriter,
  type HeldLock,
  type LockInfo,
  type LockOptions,
  type Manifest,
  type ManifestBase,
  type StageRef,
  Store,
  StoreError,
  StoreLockedError,
} from "./store.ts";
export { type ArrayInfo, createGroup, readArray, readRows, writeArray } from "./zarr.ts";
export { canonicalJson, sha256, sha256File } from "./hash.ts";
