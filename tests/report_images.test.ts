/**
 * The report of an image run, in-process with fake inputs: two methods (DiEM and DiffEM loops) whose
 * evaluations publish a `grid` PNG and the metrics `fd`, `psnr_mean`, `ssim_mean`, two baselines (the
 * Gaussian start and the oracle, outside any loop) drawn as dashed lines, and stages of unconditional prior
 * samples: one curve figure per metric with both methods and both baselines, every lap's grid re-published
 * under the method's name, a prior-sample grid per lap, no corner plots, and a page embedding them all.
 */
import { decodePng, imageGrid } from "../lib/plot/mod.ts";
import { reportTask } from "../tasks/report.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { fakeContext, fakeEntry, points } from "./report_fakes.ts";
import type { NDArray } from "../lib/array.ts";

/** `n` 8×8×1 images in [−1, 1] whose brightness grows with `level`. */
function images(n: number, level: number): NDArray {
  const data = new Float32Array(n * 64);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(-1, Math.min(1, Math.sin(i * 0.37) * level));
  return { shape: [n, 8, 8, 1], data };
}

Deno.test("image report: fd / psnr / ssim curves with dashed baselines, per-lap grids, prior grids, no corners", async () => {
  const grid = await imageGrid({ images: images(6, 0.5), columns: 3, range: [-1, 1] });
  const metricsAt = (lap: number, method: number) => ({
    fd: 10 / (lap + 1) + method,
    psnr_mean: 12 + 2 * lap + method,
    ssim_mean: 0.3 + 0.1 * lap,
  });
  const entries = [
    fakeEntry("gauss_evaluate", { fd: 12, psnr_mean: 11, ssim_mean: 0.25 }, {}, { "grid.png": grid }),
    fakeEntry("oracle_evaluate", { fd: 1, psnr_mean: 20, ssim_mean: 0.8 }, {}, { "grid.png": grid }),
  ];
  const priors = [];
  for (const [m, loop] of ["diem", "diffem"].entries()) {
    for (let k = 0; k < 3; k++) {
      entries.push(fakeEntry(`${loop}[${k}].evaluate`, metricsAt(k, m), {}, { "grid.png": grid }));
    }
  }
  for (let k = 0; k < 3; k++) priors.push(fakeEntry(`diem[${k}].prior_sample`, {}, { x: images(20, k + 1) }));

  const { ctx, files, metrics } = fakeContext({ title: "MNIST" }, entries, null, priors);
  await reportTask.run(ctx);

  const names = [...files.keys()].sort();
  for (const metric of ["fd", "psnr_mean", "ssim_mean"]) {
    assert(names.includes(`${metric}.png`), `${metric}.png`);
  }
  assert(!names.includes("sinkhorn.png"), "no Sinkhorn curve for images");
  assert(!names.some((n) => n.startsWith("corner_")), `no corner plots: ${names}`);
  for (const loop of ["diem", "diffem"]) {
    for (let k = 0; k < 3; k++) assertEquals(files.get(`grid_${loop}_lap${k}.png`), grid);
  }
  assertEquals(files.get("grid_gauss_evaluate.png"), grid);
  assertEquals(files.get("grid_oracle_evaluate.png"), grid);
  for (let k = 0; k < 3; k++) {
    const png = decodePng(files.get(`prior_diem_lap${k}.png`)!);
    assert(png.width > 8 * 8 && png.height > 16, `prior grid ${k}: ${png.width}×${png.height}`);
  }
  assertEquals(metrics.laps as Record<string, number>, { diem: 3, diffem: 3 });
  // The summary metrics are the image headline figures of the last lap, not a Sinkhorn divergence.
  assertEquals(metrics.final_psnr_mean, { diem: 16, diffem: 17, gauss_evaluate: 11, oracle_evaluate: 20 });
  assertEquals((metrics.final_fd as Record<string, number>).oracle_evaluate, 1);
  assert(!("final_sinkhorn" in metrics), "no final_sinkhorn for images");

  const html = new TextDecoder().decode(files.get("report.html")!);
  // Each curve: a line per method and a dashed rule per baseline, in its Vega-Lite spec.
  const specs = JSON.parse(
    /<script type="application\/json" id="report-specs">(.*?)<\/script>/s.exec(html)![1],
  );
  for (const metric of ["fd", "psnr_mean", "ssim_mean"]) {
    const spec = JSON.stringify(specs[`${metric}.png`]);
    for (const name of ["diem", "diffem", "gauss_evaluate", "oracle_evaluate"]) {
      assert(spec.includes(`"${name}"`), `${metric}: ${name} missing`);
    }
    assertMatch(spec, /strokeDash/);
  }
  // Every lap's grids and prior samples are embedded, by lap.
  for (let k = 0; k < 3; k++) assertMatch(html, new RegExp(`<h3>Lap ${k}</h3>`));
  assertEquals(html.match(/data:image\/png;base64/g)?.length, 2 + 6 + 3);
  assert(
    html.includes("prior_diem_lap2.png") && html.includes("grid_diffem_lap1.png"),
    "pictures titled by file",
  );
});

Deno.test("image report: vectors keep the vector report (Sinkhorn curve and corner plots)", async () => {
  const entries = [fakeEntry("em[0].evaluate", { sinkhorn: 0.5 }, { subset: points(50, 2, 0.1) })];
  const { ctx, files } = fakeContext({}, entries, null);
  await reportTask.run(ctx);
  assert(files.has("sinkhorn.png") && files.has("corner_em_lap0.png"), [...files.keys()].join(", "));
});
