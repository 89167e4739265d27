/**
 * Tiny assertion helpers for the numerics tests (no @std in this environment).
 *
 * @module
 */
import { type PoolOptions, type RunOptions, type WorkerJob, WorkerPool } from "../lib/tensor/mod.ts";

/** Throw with `message` unless `cond`. */
export function assert(cond: unknown, message = "assertion failed"): asserts cond {
  if (!cond) throw new Error(message);
}

/**
 * Norm-wise relative error ‖a − b‖∞ / max(‖b‖∞, floor): the usual measure for results of sums of products,
 * whose small entries come from cancellation and carry the rounding error of the large terms.
 */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  assert(a.length === b.length, `length ${a.length} != ${b.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, floor);
}

/** Assert that `a` matches `b` to `tol` norm-wise relative error (see {@link maxRelError}). */
export function assertClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
  what = "",
  floor = 1e-6,
) {
  const e = maxRelError(a, b, floor);
  assert(e <= tol, `${what}: max relative error ${e.toExponential(3)} > ${tol}`);
}

/** Assert |a − b| ≤ tol for two numbers. */
export function assertNear(a: number, b: number, tol: number, what = "") {
  assert(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} differ by ${Math.abs(a - b)} > ${tol}`);
}

/**
 * Run `job` on every input in a fresh pool of Workers (`workers: 0` runs here), then close the pool.
 */
export async function runInWorkers<I, O>(
  job: WorkerJob<I, O>,
  inputs: I[],
  opts: PoolOptions & RunOptions = {},
): Promise<O[]> {
  const pool = new WorkerPool({
    workers: Math.min(opts.workers ?? navigator.hardwareConcurrency ?? 1, inputs.length),
    backend: opts.backend,
  });
  try {
    return await pool.run(job, inputs, opts);
  } finally {
    pool.close();
  }
}
