/**
 * The Worker side of {@link WorkerPool}: initialise a backend, then run the jobs a module declares
 * (`workerJobs`, see `defineWorkerJobs`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type BackendChoice, type BackendInfo, initBackend, setBlasThreads } from "./backend.ts";
import { jobOf, transferables } from "./pool.ts";

type ToWorker =
  | { type: "init"; backend: BackendChoice; blasThreads: number }
  | { type: "run"; shard: number; module: string; name: string; input: unknown };

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
      // Before the backend starts, so that its detail line says this Worker's share of the cores.
      if (m.backend === "wasm" || m.backend === "auto") setBlasThreads(m.blasThreads);
      backend = await initBackend(m.backend);
      self.postMessage({ type: "ready", backend });
    } catch (err) {
      self.postMessage(errorMessage(-1, err));
    }
    return;
  }
  try {
    let mod = modules.get(m.module);
    if (!mod) {
      mod = await import(m.module) as Record<string, unknown>;
      modules.set(m.module, mod);
    }
    const output = await jobOf(mod, m.module, m.name).run(m.input, {
      shard: m.shard,
      backend: backend!,
      progress: (value) => self.postMessage({ type: "progress", shard: m.shard, value }),
    });
    self.postMessage({ type: "result", shard: m.shard, output }, { transfer: transferables(output) });
  } catch (err) {
    self.postMessage(errorMessage(m.shard, err));
  }
};
