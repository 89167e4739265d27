/**
 * A researcher's own observations: a Zarr group of y, per-observation projections and σ_y, with no
 * clean x, runs through the Gaussian start and the E-step; `evaluate` checks the posterior samples
 * against the observations alone; editing the data reruns what depends on it; bad data is refused
 * with the array and the index, and the store is left as it was.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, ranStages, scratch, snapshot } from "./cli_helpers.ts";
import { smoothManifold } from "../datasets/manifold.ts";
import { operatorFamily } from "../lib/operators/mod.ts";
import { createGroup, writeArray } from "../lib/engine/mod.ts";

async function writeObservations(dir: string, sigmaY: number, poison = false): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  const { x } = smoothManifold({ samples: 512, seed: 4 });
  const family = operatorFamily("projection", { xShape: [5], m: 2 });
  const { y, params } = family.corrupt(x, 9, sigmaY);
  if (poison) y.data[2 * 37 + 1] = NaN;
  await createGroup(dir, { operator: "projection", sigma_y: sigmaY });
  await writeArray(dir, "y", y);
  await writeArray(dir, "matrices", params.matrices);
}

const SPEC = `
store: store
stages:
  obs: { task: dataset, params: { source: zarr, path: obs.zarr } }
  gauss: { task: fit-gaussian, inputs: { obs: obs } }
  posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss } }
  check: { task: evaluate, inputs: { samples: posterior, obs: obs } }
`;

Deno.test("observations from a Zarr group: posterior predictive check, reruns on edits, clear errors", async () => {
  const dir = await scratch(SPEC);
  await writeObservations(`${dir}/obs.zarr`, 0.05);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  const m = JSON.parse((await cli(dir, "metrics", "--json")).stdout);
  assertEquals(m.obs.observations, 512);
  // Exact posterior samples reproduce the observations to within the noise level.
  const ratio = m.check.residual_over_sigma as number;
  assert(ratio > 0.3 && ratio < 2, `residual / σ_y = ${ratio}, expected about 1`);
  assert(!("sinkhorn" in m.check), "no truth, no Sinkhorn");

  // New data (another σ_y): every stage reads it again.
  await new Promise((res) => setTimeout(res, 20)); // distinct modification times
  await writeObservations(`${dir}/obs.zarr`, 0.1);
  assertEquals(ranStages((await cli(dir, "run")).stdout), ["check", "gauss", "obs", "posterior"]);

  // A NaN in y: refused, naming the array and the index; the store is as it was.
  const before = await snapshot(`${dir}/store/entries`);
  await writeObservations(`${dir}/obs.zarr`, 0.1, true);
  const bad = await cli(dir, "run");
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /"y".*(NaN|non-finite).*37/s);
  // The data's fault: one paragraph, said once, and no stack trace.
  assert(!/^\s+at /m.test(bad.stderr), `a stack trace:\n${bad.stderr}`);
  assertEquals(bad.stderr.match(/non-finite/g)?.length, 1, bad.stderr);
  assertEquals([...(await snapshot(`${dir}/store/entries`))], [...before]);
});
