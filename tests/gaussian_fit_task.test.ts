/**
 * `fit-gaussian` as a task: an interrupted fit (full, and low-rank with posterior samples) resumes from its
 * per-iteration checkpoint to exactly the uninterrupted result; `iterations` (renamed) and SQUAREM with Monte-Carlo EM are spec errors; a fit
 * stopped by `max_iterations` publishes `converged: false` and a warning in its metadata.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";
import { fitGaussianTask } from "../tasks/fit_gaussian.ts";
import { maskOperator, type OperatorFamily, projectionOperator } from "../lib/operators/mod.ts";
import { smoothManifold } from "../datasets/manifold.ts";
import type { InputEntry, StageContext } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

type Params = Parameters<typeof fitGaussianTask.run>[0]["params"];
type Saved = { state: Record<string, unknown>; arrays: Record<string, NDArray> };

/** Projected (or masked) manifold observations as the entry a corrupt stage publishes. */
function observationsEntry(
  kind: "projection" | "mask" = "projection",
  config: Record<string, unknown> = { xShape: [5], m: 2 },
): InputEntry {
  const family: OperatorFamily = kind === "mask"
    ? maskOperator(config as never)
    : projectionOperator(config as never);
  const { x } = smoothManifold({ samples: 512, features: family.xShape[0], manifoldDim: 1, seed: 4 });
  const { y, params } = family.corrupt(x, 5, 0.01);
  const arrays: Record<string, NDArray> = { y };
  for (const [name, a] of Object.entries(params)) arrays[`operator/${name}`] = a;
  return {
    stageId: "obs",
    arrays,
    json: () => Promise.resolve({ kind, config, sigma_y: 0.01, n: 512 }),
    array: (name: string) => Promise.resolve(arrays[name]),
  } as unknown as InputEntry;
}

/** Run the task in-process with `slots` as its checkpoint store; `failAfter` saves make the next one throw. */
async function runFit(
  obs: InputEntry,
  slots: Map<string, Saved>,
  failAfter = Infinity,
  params: Record<string, unknown> = {},
): Promise<{ outputs: Record<string, unknown>; metrics: Record<string, unknown>; saves: number }> {
  const outputs: Record<string, unknown> = {}, metrics: Record<string, unknown> = {};
  let saves = 0;
  const ctx = {
    id: "gauss",
    params: fitGaussianTask.params.parse(params) as Params,
    seed: 7,
    input: () => obs,
    writeArray: (name: string, a: NDArray) => Promise.resolve(void (outputs[name] = a)),
    writeJson: (name: string, v: unknown) => Promise.resolve(void (outputs[name] = v)),
    metrics: (v: Record<string, unknown>) => Object.assign(metrics, v),
    meta: () => {},
    log: () => {},
    progress: { start: () => {}, tick: () => {} },
    checkpoints: {
      save: (slot: string, state: Record<string, unknown>, arrays: Record<string, NDArray> = {}) => {
        if (saves++ >= failAfter) return Promise.reject(new Error("interrupted"));
        slots.set(slot, structuredClone({ state, arrays }));
        return Promise.resolve();
      },
      load: (slot: string) => Promise.resolve(structuredClone(slots.get(slot)) ?? null),
      list: () => Promise.resolve([...slots.keys()]),
    },
  } as unknown as StageContext<Params>;
  await fitGaussianTask.run(ctx);
  return { outputs, metrics, saves };
}

/** Interrupt a fit after 3 checkpoints, resume it, and compare with the uninterrupted fit. */
async function checkResume(obs: InputEntry, params: Record<string, unknown> = {}): Promise<void> {
  const whole = await runFit(obs, new Map(), Infinity, params);
  assertEquals(whole.metrics.converged, true);
  assert((whole.metrics.iterations as number) > 4, `iterations ${whole.metrics.iterations}`);
  const slots = new Map<string, Saved>();
  let failed = "";
  await runFit(obs, slots, 3, params).catch((e) => failed = (e as Error).message);
  assertEquals(failed, "interrupted");
  assertEquals((slots.get("em")!.state.history as unknown[]).length, 3);
  const resumed = await runFit(obs, slots, Infinity, params);
  assertEquals(resumed.saves, whole.saves - 3, "the resumed fit continues after the 3 saved iterations");
  assertEquals(resumed.outputs, whole.outputs);
  assertEquals(resumed.metrics, whole.metrics);
}

Deno.test("fit-gaussian: an interrupted fit resumes from its checkpoint to the uninterrupted result", async () => {
  await checkResume(observationsEntry());
});

Deno.test("fit-gaussian lowrank: an interrupted Monte-Carlo fit resumes to the uninterrupted result", async () => {
  const obs = observationsEntry("mask", { xShape: [12], keep: 0.5 });
  await checkResume(obs, { covariance: "lowrank", rank: 2, mode: "sample", tol: 3e-4 });
});

const SPEC = (params: string) => `
store: store
seed: 3
stages:
  data: { task: dataset, params: { source: manifold, samples: 256, features: 5, manifold_dim: 1 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: ${params} }
`;

Deno.test("fit-gaussian: renamed and contradictory parameters are spec errors; an unconverged fit warns", async () => {
  let dir = await scratch(SPEC("{ iterations: 16 }"));
  let r = await cli(dir, "run");
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /pipeline\.yaml:7:\d+: parameter "iterations" .*renamed: use max_iterations/);
  dir = await scratch(SPEC("{ mode: sample, acceleration: squarem }"));
  r = await cli(dir, "run");
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /acceleration "squarem" needs mode "exact"/);
  dir = await scratch(SPEC("{ max_iterations: 2 }"));
  r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout + r.stderr, /warning: Gaussian EM stopped unconverged after 2 iterations/);
  const gauss = await show(dir, "gauss");
  const metrics = gauss.metrics as Record<string, unknown>;
  assertEquals([metrics.iterations, metrics.em_steps, metrics.converged], [2, 4, false]);
  assertMatch(
    JSON.stringify((gauss.meta as { warnings: string[] }).warnings),
    /unconverged after 2 iterations/,
  );
  // The cached result keeps its caveat visible: `status` prints the warning under the stage.
  r = await cli(dir, "status");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stdout,
    /gauss .*cached[^\n]*\n\s+warning: Gaussian EM stopped unconverged after 2 iterations/,
  );
});
