/**
 * Image evaluation end to end on a tiny store (7 × 7 MNIST through the `fx-mnist` fixture): `fit-evaluator`
 * publishes a classifier, `sample-posterior` with `draws: 3` writes the first draw and the posterior mean
 * (which is exactly the average of the draws that stages of the draw seeds give; sharded and resumable), and
 * `evaluate`'s image branch reports FD (with subsets), PSNR and SSIM of the samples and of the mean, and draws
 * the grid.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";
import { readArray } from "../lib/engine/mod.ts";
import { drawSeed } from "../tasks/sample_posterior.ts";

const PLUGIN = new URL("./fixtures/images.ts", import.meta.url).pathname;

const post = (seed: number, draws: number) =>
  `{ task: sample-posterior, seed: ${seed}, inputs: { obs: obs, prior: gauss }, params: { method: exact, shards: 2, draws: ${draws} } }`;

const SPEC = `
store: store
seed: 1
backend: wasm
plugins: [${PLUGIN}]
stages:
  train: { task: fx-mnist, params: { split: train, count: 2000, size: 7 } }
  test: { task: fx-mnist, params: { split: test, count: 400, size: 7 } }
  truth: { task: fx-mnist, params: { split: train, start: 50000, count: 120, size: 7 } }
  evaluator:
    task: fit-evaluator
    inputs: { train: train, test: test }
    params: { steps: 150, conv: [16, 32], features: 32, checkpoint_every: 50 }
  obs: { task: corrupt, inputs: { x: truth }, params: { operator: { kind: mask, keep: 0.5 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 3 } }
  post: ${post(21, 3)}
  draw0: ${post(drawSeed(21, 0), 1)}
  draw1: ${post(drawSeed(21, 1), 1)}
  draw2: ${post(drawSeed(21, 2), 1)}
  eval:
    task: evaluate
    inputs: { samples: post, truth: truth, reference: test, evaluator: evaluator, obs: obs }
    params: { grid_rows: 6 }
`;

Deno.test("evaluate on images: evaluator, posterior draws and mean, FD/PSNR/SSIM and the grid", async () => {
  const dir = await scratch(SPEC);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stdout + r.stderr);
  const metrics = JSON.parse((await cli(dir, "metrics", "--json")).stdout);

  // The evaluator says what it is, and learnt something (chance is 10 %).
  const evaluator = await show(dir, "evaluator");
  assertEquals((evaluator.meta as { evaluator: unknown }).evaluator, {
    kind: "classifier",
    event_shape: [7, 7, 1],
    features: 32,
  });
  assert(metrics.evaluator.test_accuracy > 0.4, JSON.stringify(metrics.evaluator));

  // draws: x is the first draw (the stage of the same seed with one draw), mean the average of the three.
  const arrays = async (id: string) => `${(await show(dir, id)).entry}/arrays`;
  const x = await readArray(await arrays("post"), "x");
  const mean = await readArray(await arrays("post"), "mean");
  const draws = await Promise.all(
    ["draw0", "draw1", "draw2"].map(async (id) => readArray(await arrays(id), "x")),
  );
  assertEquals(Array.from(x.data), Array.from(draws[0].data), "first draw");
  assert(draws.every((d) => !(d.shape.join() !== x.shape.join())), "shapes");
  let maxError = 0;
  for (let i = 0; i < mean.data.length; i++) {
    const average = (draws[0].data[i] + draws[1].data[i] + draws[2].data[i]) / 3;
    maxError = Math.max(maxError, Math.abs(mean.data[i] - average));
  }
  assert(maxError < 1e-6, `mean differs from the average of the draws by ${maxError}`);
  assert(Array.from(draws[1].data).some((v, i) => v !== draws[0].data[i]), "the draws differ");

  // The image metrics: FD and its subsets, PSNR/SSIM of the samples and (better) of the posterior mean.
  const e = metrics.eval;
  for (const k of ["fd", "fd_truth", "fd_mean", "fd_se", "psnr", "ssim", "psnr_mean", "ssim_mean"]) {
    assert(Number.isFinite(e[k]), `${k}: ${JSON.stringify(e)}`);
  }
  assertEquals([e.fd_subsets, e.fd_m], [4, 30]);
  assert(e.fd >= 0 && e.fd_truth >= 0, JSON.stringify(e));
  assert(e.ssim < 1 && e.ssim_mean < 1 && e.ssim > 0, JSON.stringify(e));
  // An average of three posterior draws is closer to the truth than one draw (E‖x̄ − x‖² shrinks with K).
  assert(e.psnr_mean > e.psnr && e.ssim_mean > e.ssim, JSON.stringify(e));
  assert(e.residual_over_sigma < 2, JSON.stringify(e));
  const grid = await Deno.readFile(`${(await show(dir, "eval")).entry}/files/grid.png`);
  assertEquals(Array.from(grid.subarray(1, 4)), [80, 78, 71], "a PNG");

  // Image samples without an evaluator: a clear error naming the input.
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `${SPEC}  no_evaluator: { task: evaluate, inputs: { samples: post, truth: truth, reference: test } }\n`,
  );
  const bad = await cli(dir, "run", "--until", "no_evaluator");
  assertEquals(bad.code, 1, bad.stdout);
  assertMatch(bad.stdout + bad.stderr, /evaluate on images needs input evaluator: a fit-evaluator stage/);
  // An evaluator trained on a stage without labelled images: the error names the input and the stage.
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `${SPEC}  unlabelled: { task: fit-evaluator, inputs: { train: obs, test: test } }\n`,
  );
  const unlabelled = await cli(dir, "run", "--until", "unlabelled");
  assertEquals(unlabelled.code, 1, unlabelled.stdout);
  assertMatch(unlabelled.stdout + unlabelled.stderr, /input train: stage obs has no images x/);

  // draws are sharded and resumable: one shard computed by its own process (as a cluster job), the rest by
  // the run; rows draw from their own streams, so 3 shards give post's 2-shard x and mean bit for bit.
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `${SPEC}  resumed: ${post(21, 3).replace("shards: 2", "shards: 3")}\n`,
  );
  assertEquals((await cli(dir, "exec", "resumed", "--shard", "1")).code, 0);
  const resumedRun = await cli(dir, "run", "--until", "resumed");
  assertEquals(resumedRun.code, 0, resumedRun.stderr);
  assertMatch(resumedRun.stdout, /1 of 3 shards already done/);
  for (const name of ["x", "mean"]) {
    const again = await readArray(await arrays("resumed"), name);
    const first = await readArray(await arrays("post"), name);
    assertEquals(Array.from(again.data), Array.from(first.data), `resumed ${name}`);
  }
});
