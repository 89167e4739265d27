/**
 * `sample-posterior` as a stage: which prior it was given is read from what that stage published;
 * exact Gaussian posteriors for every linear operator (blur included); `cov_x` with Σ_x from a Gaussian
 * fit wired as input `gaussian`, with a Gaussian or a trained prior; which solver ran (exact for small m);
 * renamed solver parameters.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";
import { readPrior } from "../tasks/_model.ts";
import type { InputEntry } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

const STAGES = `
store: store
seed: 3
backend: wasm
stages:
  data: { task: dataset, params: { samples: 256 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: blur, width: 1 }, sigma_y: 0.05 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 4 } }
  exact: { task: sample-posterior, seed: 11, inputs: { obs: obs, prior: gauss }, params: { method: exact, shards: 2 } }
  auto: { task: sample-posterior, seed: 11, inputs: { obs: obs, prior: gauss }, params: { shards: 2 } }
  covx_own:
    task: sample-posterior
    seed: 12
    inputs: { obs: obs, prior: gauss }
    params: { method: mmps, covariance: cov_x, steps: 8, shards: 1, workers: 0 }
  covx_input:
    task: sample-posterior
    seed: 12
    inputs: { obs: obs, prior: gauss, gaussian: gauss }
    params: { method: mmps, covariance: cov_x, steps: 8, shards: 1, workers: 0 }
  fit: { task: fit-prior, inputs: { samples: exact }, params: { steps: 40, batch_size: 64 } }
  covx_network:
    task: sample-posterior
    inputs: { obs: obs, prior: fit, gaussian: gauss }
    params: { covariance: cov_x, steps: 8, shards: 1, workers: 0 }
  mmps_network:
    task: sample-posterior
    inputs: { obs: obs, prior: fit }
    params: { steps: 8, shards: 1, workers: 0 }
`;

Deno.test("sample-posterior: exact posteriors for blur, cov_x from a Gaussian fit with any prior", async () => {
  const dir = await scratch(STAGES);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  // A blurred observation has a closed-form posterior under a Gaussian prior: asked for, or chosen by auto
  // (the same seed: the same samples).
  for (const id of ["exact", "auto"]) {
    assertEquals(((await show(dir, id)).meta as { method: string }).method, "exact", id);
  }
  const metrics = JSON.parse((await cli(dir, "metrics", "--json")).stdout);
  assertEquals(metrics.exact.mean_norm, metrics.auto.mean_norm);
  // Σ_x wired from the Gaussian fit is the Gaussian prior's own covariance: the same samples, bit for bit.
  assertEquals(metrics.covx_input.mean_norm, metrics.covx_own.mean_norm);
  // With a trained prior, Σ_x comes from the Gaussian input (the DiEM paper's manifold E-step).
  assertEquals(((await show(dir, "covx_network")).meta as { method: string }).method, "mmps");
  assert(Number.isFinite(metrics.covx_network.mean_norm), JSON.stringify(metrics.covx_network));
  assert(metrics.covx_network.solver_mean_iterations > 0, JSON.stringify(metrics.covx_network));
  // The metadata says which solve ran: auto is exact for covariance mmps and m = 5 ≤ exact_max, cg for cov_x.
  const solverOf = async (id: string) =>
    ((await show(dir, id)).meta as { solver_method: string }).solver_method;
  assertEquals(await solverOf("mmps_network"), "exact");
  assertEquals(await solverOf("covx_network"), "cg");
  assert(metrics.mmps_network.solver_max_rel_residual < 1e-6, JSON.stringify(metrics.mmps_network));
});

Deno.test("sample-posterior: cov_x with a trained prior and no Gaussian says what to wire", async () => {
  const dir = await scratch(`${STAGES}
  covx_missing:
    task: sample-posterior
    inputs: { obs: obs, prior: fit }
    params: { covariance: cov_x, steps: 2, shards: 1, workers: 0 }
`);
  const r = await cli(dir, "run", "--until", "covx_missing");
  assertEquals(r.code, 1, r.stdout);
  assertMatch(r.stdout + r.stderr, /cov_x needs a covariance of x: wire a Gaussian fit as input gaussian/);
});

Deno.test("sample-posterior: the old solver parameter names are spec errors that name the new ones", async () => {
  const dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { samples: 64 } }
  obs: { task: corrupt, inputs: { x: data } }
  gauss: { task: fit-gaussian, inputs: { obs: obs } }
  post:
    task: sample-posterior
    inputs: { obs: obs, prior: gauss }
    params: { cg_maxiter: 1, cg_rtol: 1e-4 }
`);
  const r = await cli(dir, "status");
  assertEquals(r.code, 2, r.stdout);
  assertMatch(r.stderr, /pipeline\.yaml:10:\d+: parameter "cg_maxiter" .*renamed: use solver_maxiter/);
  assertMatch(r.stderr, /parameter "cg_rtol" .*renamed: use solver_rtol/);
});

/** A published entry as a consumer sees it: only its task name and metadata matter here. */
function publishedEntry(task: string, meta: Record<string, unknown>): InputEntry {
  const mean = { shape: [2], data: Float64Array.of(1, 2) },
    cov = { shape: [2, 2], data: Float64Array.of(1, 0, 0, 1) };
  const arrays: Record<string, NDArray> = { mean, cov };
  return {
    stageId: "prior",
    name: "prior",
    loop: null,
    lap: null,
    key: "k",
    task,
    params: {},
    arrays: {
      mean: { shape: [2], dtype: "float64", chunks: [2] },
      cov: { shape: [2, 2], dtype: "float64", chunks: [2, 2] },
    },
    metrics: {},
    meta,
    array: (name) => Promise.resolve(arrays[name]),
    rows: () => Promise.reject(new Error("unused")),
    json: () => Promise.reject(new Error("unused")),
    has: (name) => name in arrays,
    files: [],
    file: () => Promise.reject(new Error("unused")),
  };
}

Deno.test("a prior is known by what its stage published, not by the task's name", async () => {
  const schedule = { sigma_min: 1e-3, sigma_max: 10 };
  // A plugin task that publishes a Gaussian the same way is a Gaussian prior.
  const plugin = await readPrior(
    publishedEntry("my-gaussian", { model: { kind: "gaussian", event_shape: [2] } }),
    schedule,
  );
  assertEquals(plugin.model.kind, "gaussian");
  assertEquals([...plugin.mean!.data], [1, 2]);
  // The built-in task's name alone does not make a prior: its entry must say so.
  let message = "";
  try {
    await readPrior(publishedEntry("fit-gaussian", {}), schedule);
  } catch (e) {
    message = (e as Error).message;
  }
  assertMatch(message, /published no prior/);
});

Deno.test("sample-posterior: solver metrics are the same whether shards were resumed or computed in one go", async () => {
  const spec = `
store: store
seed: 3
backend: wasm
stages:
  data: { task: dataset, params: { samples: 96 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: blur, width: 1 }, sigma_y: 0.05 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 2 } }
  mm:
    task: sample-posterior
    seed: 5
    inputs: { obs: obs, prior: gauss }
    params: { method: mmps, solver: cg, steps: 4, shards: 3, workers: 0 }
`;
  const clean = await scratch(spec);
  assertEquals((await cli(clean, "run")).code, 0);
  const resumed = await scratch(spec);
  assertEquals((await cli(resumed, "run", "--until", "gauss")).code, 0);
  // Shards 0 and 2 computed by separate processes (as cluster jobs would), the rest by the run.
  for (const shard of ["0", "2"]) assertEquals((await cli(resumed, "exec", "mm", "--shard", shard)).code, 0);
  const r = await cli(resumed, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /2 of 3 shards already done/);
  const metrics = async (dir: string) => JSON.parse((await cli(dir, "metrics", "--json")).stdout).mm;
  const [a, b] = [await metrics(clean), await metrics(resumed)];
  assert(a.solver_mean_iterations > 0, JSON.stringify(a));
  assertEquals(b.solver_max_rel_residual, a.solver_max_rel_residual);
  assertEquals(b.solver_mean_iterations, a.solver_mean_iterations);
  assertEquals(b.mean_norm, a.mean_norm);
});
