/**
 * Lock files of the store (private): the run lock (`LOCK`) and the per-key locks (`locks/<key>`),
 * and telling a live holder from a dead one, so that what a killed process left is cleared.
 *
 * A lock is taken with one `link` of a complete file, which fails when the lock exists: two
 * processes never both hold it. A holder is dead when its pid is gone, or reused by a process that
 * started at another time (the kernel start time is recorded in the lock).
 *
 * @module
 */
import { nextTmpNumber, StoreError } from "./_files.ts";

/** Who holds a lock. */
export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  command: string;
  /** Kernel start time of the process, to tell a live holder from a reused pid. */
  procStart?: string;
}

/**
 * The store is locked by a live process.
 *
 * @example
 * ```ts
 * try {
 *   await store.lock("pipeline run");
 * } catch (e) {
 *   if (e instanceof StoreLockedError) console.error(e.message); // store … is in use by pid …
 * }
 * ```
 */
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

/** A held lock file; release it when done. */
export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

/**
 * This machine's name, or `unknown`.
 *
 * @example
 * ```ts
 * hostname(); // "node042"
 * ```
 */
export function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/**
 * Kernel start time of process `pid` (from `/proc`), or undefined when it is not running.
 *
 * @example
 * ```ts
 * procStart(Deno.pid); // "123456"
 * ```
 */
export function procStart(pid: number): string | undefined {
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

/**
 * Is the process that wrote `info` still running? (Unknowable on another host: assume yes.)
 *
 * @example
 * ```ts
 * holderAlive(JSON.parse(await Deno.readTextFile(".store/LOCK"))); // false after a crash
 * ```
 */
export function holderAlive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true;
  const start = procStart(info.pid);
  if (start === undefined) return false;
  return info.procStart === undefined || info.procStart === start;
}

/** How to take a lock that is held. */
export interface LockOptions {
  /** Wait for the holder to release it instead of throwing {@link StoreLockedError}. */
  wait?: boolean;
  /** Called once, when waiting starts. */
  onWait?: (h: LockInfo) => void;
}

/**
 * Take the lock file at `path` for this process; a lock whose holder died is taken over.
 *
 * @example
 * ```ts
 * const lock = await takeLock(".store/LOCK", "pipeline run", { wait: true });
 * try { … } finally { await lock.release(); }
 * ```
 */
export async function takeLock(path: string, command: string, opts: LockOptions): Promise<HeldLock> {
  const info: LockInfo = {
    pid: Deno.pid,
    host: hostname(),
    started: new Date().toISOString(),
    command,
    procStart: procStart(Deno.pid),
  };
  const tmp = `${path}.${Deno.pid}.${nextTmpNumber()}`;
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
      const holder = await readHolder(path);
      if (holder === null) continue; // released between link and read
      if (!holderAlive(holder)) {
        await Deno.remove(path).catch(() => {});
        continue;
      }
      if (!opts.wait) throw new StoreLockedError(holder, path);
      if (!told) opts.onWait?.(holder);
      told = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return heldLock(path, info);
}

/** How long an unreadable lock file is watched for a change before it is judged. */
const UNREADABLE_WAIT_MS = 2000;

/**
 * The holder recorded in the lock file at `path`, or null when it is gone. A lock is created
 * whole (a `link` of a complete file), so one that cannot be read as a holder (empty, garbled, a
 * directory) was not made by a live lock taker: after a bounded wait for it to change, it is an
 * error naming the file and how to clear it, never retried forever.
 */
async function readHolder(path: string): Promise<LockInfo | null> {
  const deadline = Date.now() + UNREADABLE_WAIT_MS;
  while (true) {
    let problem: string;
    try {
      const info = JSON.parse(await Deno.readTextFile(path));
      if (isLockInfo(info)) return info;
      problem = "does not name a holder (pid, host)";
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      problem = e instanceof SyntaxError ? "is empty or garbled" : `cannot be read (${(e as Error).message})`;
    }
    if (Date.now() >= deadline) {
      throw new StoreError(
        `lock file ${path} ${problem}: no run could have written it, so it is left by a crash or ` +
          `damage. If no other process is using the store, remove it (rm -r ${path}) and rerun.`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isLockInfo(v: unknown): v is LockInfo {
  const o = v as LockInfo | null;
  return typeof o === "object" && o !== null && Number.isInteger(o.pid) && typeof o.host === "string";
}

/** The handle of a lock taken as `info`: releasing removes the lock only while it is still ours. */
function heldLock(path: string, info: LockInfo): HeldLock {
  // Every caller waits for the one release (a signal handler that exits after releasing must not
  // exit while an earlier release is still under way).
  let releasing: Promise<void> | null = null;
  const release = async () => {
    try {
      const cur = JSON.parse(await Deno.readTextFile(path)) as LockInfo;
      if (cur.pid === info.pid && cur.started === info.started) await Deno.remove(path);
    } catch { /* already gone */ }
  };
  return { path, release: () => releasing ??= release() };
}

/**
 * Remove the temporary directories (`tmp/`) and key locks (`locks/`) of the store at `root` left
 * by processes of this host that died; returns what was removed, relative to `root`.
 *
 * @example
 * ```ts
 * for (const d of await removeDebris(".store")) console.log(`removed ${d}`);
 * ```
 */
export async function removeDebris(root: string): Promise<string[]> {
  const removed: string[] = [];
  const me = hostname();
  for await (const e of Deno.readDir(`${root}/tmp`)) {
    const m = e.name.match(/\.(\d+)\.(\d+)$/);
    if (!m || procStart(Number(m[1])) !== undefined) continue;
    const dir = `${root}/tmp/${e.name}`;
    const host = (await Deno.readTextFile(`${dir}/.host`).catch(() => "")).trim();
    // No host recorded: killed between creating the folder and writing `.host` (a live writer
    // anywhere writes it at once, so an old folder without one is debris).
    if (host === me || (host === "" && await olderThan(dir, HOSTLESS_GRACE_MS))) {
      await Deno.remove(dir, { recursive: true });
      removed.push(`tmp/${e.name}`);
    }
  }
  for await (const e of Deno.readDir(`${root}/locks`)) {
    const p = `${root}/locks/${e.name}`;
    let info: LockInfo;
    try {
      info = JSON.parse(await Deno.readTextFile(p)) as LockInfo;
    } catch {
      // A lock's own temporary (`<name>.<pid>.<n>`) cut short by a kill: it never became a lock.
      if (/\.\d+\.\d+$/.test(e.name) && await olderThan(p, HOSTLESS_GRACE_MS)) {
        await Deno.remove(p);
        removed.push(`locks/${e.name}`);
      }
      continue;
    }
    if (!holderAlive(info)) {
      await Deno.remove(p);
      removed.push(`locks/${e.name}`);
    }
  }
  return removed;
}

/** How old a temporary without a recorded owner must be before it is judged debris. */
const HOSTLESS_GRACE_MS = 60_000;

async function olderThan(path: string, ms: number): Promise<boolean> {
  const st = await Deno.lstat(path).catch(() => null);
  return st !== null && (st.mtime?.getTime() ?? 0) < Date.now() - ms;
}
