/**
 * Fake inputs of the report task for in-process tests: published evaluate stages and a stage context.
 *
 * @module
 */
import type { InputEntry, StageContext } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";
import type { ReportParams } from "../tasks/report.ts";
import { reportTask } from "../tasks/report.ts";
import { assert } from "./assert.ts";

/** A fake published evaluate stage with metrics and a `subset` of samples. */
export function fakeEntry(
  stageId: string,
  metrics: Record<string, unknown>,
  arrays: Record<string, NDArray>,
  files: Record<string, Uint8Array> = {},
): InputEntry {
  const lapOf = /^(.+)\[(\d+)\]\.(.+)$/.exec(stageId);
  return {
    stageId,
    name: lapOf ? lapOf[3] : stageId,
    loop: lapOf ? lapOf[1] : null,
    lap: lapOf ? Number(lapOf[2]) : null,
    meta: {},
    key: stageId,
    task: "evaluate",
    params: {},
    arrays: Object.fromEntries(
      Object.entries(arrays).map((
        [k, a],
      ) => [k, { shape: a.shape, dtype: "float32" as const, chunks: a.shape }]),
    ),
    metrics,
    array: (name) => Promise.resolve(arrays[name]),
    rows: (name, start, stop) => {
      const a = arrays[name], w = a.data.length / a.shape[0];
      return Promise.resolve({
        shape: [stop - start, ...a.shape.slice(1)],
        data: a.data.slice(start * w, stop * w),
      });
    },
    json: () => Promise.reject(new Error("no json")),
    has: (name) => name in arrays,
    files: Object.keys(files),
    file: (name) =>
      name in files ? Promise.resolve(files[name]) : Promise.reject(new Error(`no file ${name}`)),
  };
}

/** `n` points in R^d on a wiggly curve, shifted by `shift`. */
export function points(n: number, d: number, shift: number): NDArray {
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = (i / n) * 4 - 2;
    for (let j = 0; j < d; j++) data[i * d + j] = Math.sin(t * (j + 1)) * 1.8 + shift * Math.cos(i * 7.1 + j);
  }
  return { shape: [n, d], data };
}

/** A stage context that hands the report `evaluations`, `truth` and `prior_samples`, and keeps what it writes. */
export function fakeContext(
  raw: Record<string, unknown>,
  evaluations: InputEntry[],
  truth: InputEntry | null,
  priors: InputEntry[] = [],
): { ctx: StageContext<ReportParams>; files: Map<string, Uint8Array>; metrics: Record<string, unknown> } {
  const files = new Map<string, Uint8Array>();
  const metrics: Record<string, unknown> = {};
  const ctx = {
    id: "report",
    key: "k",
    params: reportTask.params.parse(raw) as ReportParams,
    seed: 0,
    lap: null,
    loop: null,
    backend: "cpu",
    baseDir: ".",
    signal: new AbortController().signal,
    input: () => {
      throw new Error("no single input");
    },
    optionalInput: (name: string) => (name === "truth" ? truth : null),
    inputList: (
      name: string,
    ) => (name === "evaluations" ? evaluations : name === "prior_samples" ? priors : []),
    writeArray: () => Promise.reject(new Error("report writes no arrays")),
    writeJson: () => Promise.reject(new Error("report writes no JSON")),
    writeFile: (name: string, bytes: Uint8Array) => {
      assert(/^[A-Za-z0-9_.-]+$/.test(name), `valid output name ${name}`);
      files.set(name, bytes);
      return Promise.resolve();
    },
    metrics: (v: Record<string, unknown>) => Object.assign(metrics, v),
    meta: () => {},
    progress: { start: () => {}, tick: () => {} },
    checkpoints: {
      save: () => Promise.resolve(),
      load: () => Promise.resolve(null),
      list: () => Promise.resolve([]),
    },
    log: () => {},
  } as unknown as StageContext<ReportParams>;
  return { ctx, files, metrics };
}
