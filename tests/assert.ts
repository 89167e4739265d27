/**
 * Assertions for the test suite (Deno's standard library cannot be installed here).
 *
 * @module
 */

/** Throw with `message` unless `cond`. */
export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new Error(message);
}

/** Deep equality through JSON (enough for plain data: numbers, strings, arrays, objects). */
export function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
}

/** `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, message = ""): void {
  if (!re.test(text)) throw new Error(`${message ? message + ": " : ""}${re} does not match:\n${text}`);
}

/** `|actual − expected| ≤ tol`. */
export function assertNear(actual: number, expected: number, tol: number, message = ""): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${message ? message + ": " : ""}expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** `fn` rejects with an error whose message matches `re`; returns the error. */
export async function assertRejects(fn: () => Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assertMatch((e as Error).message, re);
    return e as Error;
  }
  throw new Error(`expected a rejection matching ${re}`);
}
