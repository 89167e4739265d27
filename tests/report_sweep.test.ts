/**
 * A report across the seeds of a sweep: one curve per method with a band mean ± sd over the seeds,
 * a table of final values, summary metrics with their sd; a swept parameter other than the seed
 * stays a method of its own; an unswept report draws its mean over subsets, with no sweep table.
 */
import { assert, assertEquals, assertMatch, assertNear } from "./assert.ts";
import { buildReport, type Evaluation, type ReportOptions } from "../lib/report/mod.ts";
import { aggregateSweep } from "../lib/report/_sweep.ts";

const OPTIONS: ReportOptions = {
  title: "sweep",
  stageId: "report",
  max_points: 64,
  corner_laps: "last",
  max_features: 4,
  log_y: false,
  curves: ["sinkhorn"],
};

/** Fake evaluation entries of `loop` at laps 0..values.length-1, one per seed. */
function lapsOf(loop: string, member: string, values: number[], extra = ""): Evaluation[] {
  return values.map((v, lap) => ({
    stageId: `${loop}@${member}[${lap}].evaluate${extra}`,
    loop,
    lap,
    stage: "evaluate",
    member,
    metrics: { sinkhorn: 9, sinkhorn_mean: v, sinkhorn_se: 0.01, mean_error: v / 10 },
  }));
}

async function draw(evaluations: Evaluation[]) {
  const files = new Map<string, Uint8Array>();
  const summary = await buildReport(
    { evaluations, samples: () => Promise.resolve(null), truth: null },
    OPTIONS,
    { writeFile: (n, b) => Promise.resolve(void files.set(n, b)), start: () => {}, tick: () => {} },
  );
  return { summary, html: new TextDecoder().decode(files.get("report.html")!) };
}

Deno.test("a 3-seed sweep is drawn as mean ± sd per method and lap, with a table of final values", async () => {
  const evaluations = [
    ...lapsOf("diem", "seed=0", [1.0, 0.5]),
    ...lapsOf("diem", "seed=1", [1.2, 0.7]),
    ...lapsOf("diem", "seed=2", [0.8, 0.6]),
    ...lapsOf("diffem", "seed=0", [1.5, 0.9]),
    ...lapsOf("diffem", "seed=1", [1.1, 0.7]),
    {
      stageId: "gauss_evaluate",
      loop: null,
      lap: null,
      stage: null,
      member: "",
      metrics: { sinkhorn: 2, sinkhorn_mean: 1.8, sinkhorn_se: 0.02 },
    },
  ];
  const { summary, html } = await draw(evaluations);
  // Each seed's value is its mean over subsets (sinkhorn_mean), not its single paper number (9).
  assertNear(summary.final_sinkhorn!.diem!, 0.6, 1e-12);
  assertNear(summary.final_sinkhorn_sd!.diem, 0.1, 1e-12); // sd of 0.5, 0.7, 0.6
  assertNear(summary.final_sinkhorn!.diffem!, 0.8, 1e-12);
  assertNear(summary.final_sinkhorn_sd!.diffem, Math.sqrt(0.02), 1e-12);
  // The shared baseline at the members' statistic: its mean over subsets (1.8), not its paired number (2).
  assertEquals(summary.final_sinkhorn!.gauss_evaluate, 1.8);
  assertEquals(summary.laps, { diem: 2, diffem: 2 });
  assertMatch(html, /Final values over the sweep/);
  assertMatch(html, /<td>diem<\/td><td>1<\/td><td>3<\/td><td>0\.6 ± 0\.1<\/td>/);
  assertMatch(html, /<td>diffem<\/td><td>1<\/td><td>2<\/td><td>0\.8 ± 0\.1414<\/td>/);
  assertMatch(html, /band: mean ± sd over seeds/);
  assertMatch(html, /diem@seed=\*\[1\]\.evaluate/);
});

Deno.test("a swept parameter other than the seed is a method of its own, averaged over its seeds", async () => {
  const { summary } = await draw([
    ...lapsOf("em", "seed=0,lr=0.001", [1, 0.4]),
    ...lapsOf("em", "seed=1,lr=0.001", [1, 0.6]),
    ...lapsOf("em", "seed=0,lr=0.01", [1, 0.9]),
  ]);
  assertEquals(Object.keys(summary.final_sinkhorn!), ["em@lr=0.001", "em@lr=0.01"]);
  assertNear(summary.final_sinkhorn!["em@lr=0.001"]!, 0.5, 1e-12);
  assertEquals(summary.final_sinkhorn!["em@lr=0.01"], 0.9);
});

Deno.test("an unswept report: its line and final figure at the mean over subsets, no table of final values, no sd", async () => {
  const plain = lapsOf("em", "", [1, 0.5]).map((e) => ({
    ...e,
    stageId: `em[${e.lap}].evaluate`,
    member: "",
  }));
  const { summary, html } = await draw(plain);
  // The line, the summary and the best-lap mark use the mean over subsets (0.5), not the paired number (9).
  assertEquals(summary.final_sinkhorn, { em: 0.5 });
  assertMatch(html, /<td class="best">0\.5<\/td>/);
  assert(!("final_sinkhorn_sd" in summary));
  assert(!html.includes("Final values over the sweep"));
  assertMatch(html, /band: mean ± standard error/);
});

Deno.test("an image sweep keeps psnr and psnr_mean apart: the posterior mean's PSNR is not psnr's mean over subsets", () => {
  const member = (seed: number, psnr: number, fd: number): Evaluation => ({
    stageId: `em@seed=${seed}[0].evaluate`,
    loop: "em",
    lap: 0,
    stage: "evaluate",
    member: `seed=${seed}`,
    metrics: { fd: 99, fd_mean: fd, fd_se: 1, psnr, psnr_mean: psnr + 1, ssim: 0.5, ssim_mean: 0.6 },
  });
  const [agg] = aggregateSweep([member(0, 14, 200), member(1, 16, 220)]);
  assertNear(agg.metrics.fd as number, 210, 1e-12); // FD: its mean over subsets, averaged over seeds
  assertNear(agg.metrics.psnr as number, 15, 1e-12); // the samples' PSNR, not the posterior mean's
  assertNear(agg.metrics.psnr_mean as number, 16, 1e-12); // the posterior mean's PSNR, kept as a metric
  assertNear(agg.metrics.psnr_mean_sd as number, Math.SQRT2, 1e-12);
  assertNear(agg.metrics.ssim_mean as number, 0.6, 1e-12);
  assert(!("fd_mean" in agg.metrics), "fd_mean is fd's statistic, folded into fd");
});
