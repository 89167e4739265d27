/**
 * Shard functions used by tests/tensor_pool.test.ts (loaded by URL inside Workers).
 *
 * @module
 */
import { defineWorkerJobs, type ShardContext, tf } from "../lib/tensor/mod.ts";

/** Sum of squares of the input computed with TF.js, plus the backend the Worker used. */
export async function sumSquares(
  x: Float32Array,
  ctx: ShardContext,
): Promise<{ value: number; backend: string }> {
  ctx.progress({ started: ctx.shard });
  const t = tf.tensor1d(x);
  const s = tf.sum(tf.square(t));
  const value = (await s.data())[0];
  tf.dispose([t, s]);
  return { value, backend: ctx.backend.backend };
}

/** The BLAS threads this Worker's backend reports (null without a BLAS). */
export function blasThreads(_x: unknown, ctx: ShardContext): number | null {
  return ctx.backend.blas?.threads ?? null;
}

/** Doubles the input (tests buffer transfer of results). */
export function double(x: Float32Array): Float32Array {
  return x.map((v) => 2 * v);
}

/** Always throws. */
export function fails(_x: unknown): never {
  throw new Error("deliberate failure in shard");
}

/** Busy matmul work: `reps` products of 512² matrices; returns when it ran (epoch ms). */
export async function matmulWork(reps: number): Promise<{ start: number; end: number }> {
  const start = performance.timeOrigin + performance.now();
  const a = tf.randomNormal([512, 512]);
  for (let i = 0; i < reps; i++) {
    const c = tf.matMul(a, a);
    await c.data();
    c.dispose();
  }
  a.dispose();
  return { start, end: performance.timeOrigin + performance.now() };
}

/** The jobs above, for the Workers of the pool tests. */
export const workerJobs = defineWorkerJobs(import.meta.url, {
  sumSquares,
  double,
  fails,
  matmulWork,
  blasThreads,
});
