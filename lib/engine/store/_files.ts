/**
 * Small filesystem helpers of the store (private): existence, recursive listings and sizes,
 * unique temporary names, output-name checks.
 *
 * @module
 */

let tmpCounter = 0;

/**
 * A failure the user can act on (a damaged, misplaced or unusable store): the CLI prints its
 * message alone, without a stack trace, and exits 1.
 *
 * @example
 * ```ts
 * throw new StoreError(".store/entries is a symbolic link: …");
 * ```
 */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/**
 * Whether `name` is a stage key as the store names its entries and checkpoints (32 hex digits):
 * gc deletes only names the store itself made.
 *
 * @example
 * ```ts
 * isKey("0123456789abcdef0123456789abcdef"); // true
 * isKey("notes.txt"); // false
 * ```
 */
export function isKey(name: string): boolean {
  return /^[0-9a-f]{32}$/.test(name);
}

/**
 * A number not used before in this process, for temporary names (`<name>.<pid>.<n>`): the pid
 * tells processes apart, this counter the temporaries of one process.
 *
 * @example
 * ```ts
 * const tmp = `${path}.${Deno.pid}.${nextTmpNumber()}`;
 * ```
 */
export function nextTmpNumber(): number {
  return ++tmpCounter;
}

/**
 * Whether something (a file, a directory, a dangling link) is at `path`.
 *
 * @example
 * ```ts
 * if (await exists(`${root}/STORE`)) console.log("a store");
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Names in directory `dir`, or none when it does not exist (other errors are thrown).
 *
 * @example
 * ```ts
 * for (const e of await readDirOrNone(`${root}/logs`)) console.log(e.name);
 * ```
 */
export async function readDirOrNone(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/**
 * Relative paths of every file under `dir`, sorted.
 *
 * @example
 * ```ts
 * await listFiles(".store/tmp/abc.12.1"); // ["arrays/x/c/0", "arrays/x/zarr.json", …]
 * ```
 */
export async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(`${dir}/${e.name}`, rel));
    else if (e.isFile) out.push(rel);
  }
  return out.sort();
}

/**
 * Bytes taken by a file or, recursively, a directory (links counted as themselves).
 *
 * @example
 * ```ts
 * await duBytes(".store/quarantine"); // 123456
 * ```
 */
export async function duBytes(path: string): Promise<number> {
  const st = await Deno.lstat(path);
  if (!st.isDirectory) return st.size;
  let n = 0;
  for await (const e of Deno.readDir(path)) n += await duBytes(`${path}/${e.name}`);
  return n;
}

/**
 * Throw unless `name` is a valid output (or checkpoint slot) name: letters, digits, `_ . -`, not
 * starting with a dot.
 *
 * @example
 * ```ts
 * checkName("samples"); // ok
 * checkName("../x"); // throws: invalid output name "../x"
 * ```
 */
export function checkName(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new Error(`invalid output name "${name}"`);
  }
}
