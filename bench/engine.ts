/**
 * Engine benchmarks: planning a fully cached pipeline, and the store's tensor throughput.
 *
 * @module
 */
import type { Benchmark } from "./harness.ts";
import { readArray, writeArray } from "../lib/engine/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function cliArgs(args: string[]): string[] {
  return ["run", "-A", `--config=${ROOT}/deno.json`, `${ROOT}/cli.ts`, ...args];
}

async function cli(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { INIT_CWD: cwd }, // the CLI resolves -f against INIT_CWD, which `deno task` sets
  }).output();
  if (out.code !== 0) {
    throw new Error(`pipeline ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A 100-stage spec: one source and a loop of 99 laps, each lap reading the previous one. */
function hundredStages(): string {
  return `store: store
plugins: [${ROOT}/tests/fixtures/tasks.ts]
stages:
  src: { task: fx-source, params: { n: 64 } }
  em:
    loop: { laps: 99, start: { step: src } }
    stages:
      step: { task: fx-scale, inputs: { x: prev.step }, params: { factor: 1.01 } }
`;
}

/** 60000×28×28 float32 (MNIST-sized), smooth enough to compress like images do. */
function mnistSized(): { shape: number[]; data: Float32Array } {
  const data = new Float32Array(60000 * 784);
  for (let i = 0; i < 60000; i++) {
    for (let p = 0; p < 784; p++) {
      const r = Math.floor(p / 28) - 14, c = (p % 28) - 14;
      const v = Math.exp(-(r * r + c * c) / (30 + (i % 17))) * ((i * 7 + p) % 13) / 13;
      data[i * 784 + p] = v < 0.05 ? 0 : v;
    }
  }
  return { shape: [60000, 28, 28], data };
}

const MB = (60000 * 784 * 4) / 1e6;

/** The engine's benchmarks. */
export const benchmarks: Benchmark[] = [
  {
    name: "engine.noop_rerun_100",
    unit: "ms",
    reps: 5,
    async setup() {
      const dir = await Deno.makeTempDir({ prefix: "bench-noop-" });
      await Deno.writeTextFile(`${dir}/pipeline.yaml`, hundredStages());
      await cli(dir, "run");
      return dir;
    },
    async measure(dir) {
      const t0 = performance.now();
      await cli(dir as string, "run");
      return performance.now() - t0;
    },
    async teardown(dir) {
      await Deno.remove(dir as string, { recursive: true });
    },
  },
  {
    name: "store.write_mb_s",
    unit: "MB/s",
    reps: 3,
    async setup() {
      return { dir: await Deno.makeTempDir({ prefix: "bench-store-" }), array: mnistSized(), n: 0 };
    },
    async measure(p) {
      const s = p as { dir: string; array: { shape: number[]; data: Float32Array }; n: number };
      const t0 = performance.now();
      await writeArray(`${s.dir}/g${s.n++}`, "x", s.array);
      return MB / ((performance.now() - t0) / 1000);
    },
    async teardown(p) {
      await Deno.remove((p as { dir: string }).dir, { recursive: true });
    },
  },
  {
    name: "store.read_mb_s",
    unit: "MB/s",
    reps: 3,
    async setup() {
      const dir = await Deno.makeTempDir({ prefix: "bench-store-" });
      await writeArray(dir, "x", mnistSized());
      return dir;
    },
    async measure(dir) {
      const t0 = performance.now();
      const a = await readArray(dir as string, "x");
      if (a.data.length !== 60000 * 784) throw new Error("short read");
      return MB / ((performance.now() - t0) / 1000);
    },
    async teardown(dir) {
      await Deno.remove(dir as string, { recursive: true });
    },
  },
];
