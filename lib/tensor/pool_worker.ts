/**
 * The Worker side of {@link WorkerPool}: initialise a backend, then run shard functions by module URL and name.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type BackendChoice, type BackendInfo, initBackend } from "./backend.ts";
import { type ShardFunction, transferables } from "./pool.ts";

type ToWorker =
  | { type: "init"; backend: BackendChoice }
  | { type: "run"; shard: number; url: string; fnName: string; input: unknown };

let backend: BackendInfo | null = null;
const modules = new Map<string, Record<string, unknown>>();

function errorMessage(shard: number, e: unknown) {
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: "error", shard, message: err.message, stack: err.stack };
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") {
    try {
      backend = await initBackend(m.backend);
      self.postMessage({ type: "ready", backend });
    } catch (err) {
      self.postMessage(errorMessage(-1, err));
    }
    return;
  }
  try {
    let mod = modules.get(m.url);
    if (!mod) {
      mod = await import(m.url) as Record<string, unknown>;
      modules.set(m.url, mod);
    }
    const fn = mod[m.fnName] as ShardFunction<unknown, unknown> | undefined;
    if (typeof fn !== "function") throw new Error(`${m.url} exports no function ${m.fnName}`);
    const output = await fn(m.input, {
      shard: m.shard,
      backend: backend!,
      progress: (value) => self.postMessage({ type: "progress", shard: m.shard, value }),
    });
    self.postMessage({ type: "result", shard: m.shard, output }, { transfer: transferables(output) });
  } catch (err) {
    self.postMessage(errorMessage(m.shard, err));
  }
};
