/**
 * `pipeline report` at any time: drawn while a run holds the store (no lock taken, nothing run), it
 * shows the laps that have finished and only those; after the run, every lap; a spec without a
 * report stage is refused.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, FIXTURES, scratch, spawnCli } from "./cli_helpers.ts";

/** Two laps whose first stage sleeps, so that lap 0 is done long before lap 1. */
const SPEC = `
store: store
plugins: [${FIXTURES}]
stages:
  data: { task: fx-source, params: { n: 8 } }
  em:
    loop: { laps: 2, start: { step: data } }
    stages:
      step: { task: fx-scale, inputs: { x: prev.step }, params: { sleep_ms: 7000 } }
      evaluate: { task: fx-scale, inputs: { x: step } }
  report: { task: report, inputs: { evaluations: "em[*].evaluate" }, params: { curves: [sum] } }
`;

async function waitFor(path: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await Deno.stat(path).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} did not appear within ${timeoutMs} ms`);
}

/** The metrics table's stage cells of a report page. */
function tableStages(html: string): string[] {
  return [...html.matchAll(/<td><code>([^<]+)<\/code><\/td>/g)].map((m) => m[1]);
}

Deno.test("a report drawn mid-run shows the finished laps only, without the lock; after the run, all", async () => {
  const dir = await scratch(SPEC);
  const run = spawnCli(dir, "run", "--jobs", "1");
  try {
    await waitFor(`${dir}/store/refs/${encodeURIComponent("em[0].evaluate")}.json`, 60_000);
    const mid = await cli(dir, "report", "--to", "mid");
    assertEquals(mid.code, 0, mid.stderr);
    assertMatch(mid.stdout, /mid\/report\.html: 1 of 2 evaluations/);
    assert(
      await Deno.stat(`${dir}/store/LOCK`).then(() => true, () => false),
      "the run still holds the store",
    );
    const html = await Deno.readTextFile(`${dir}/mid/report.html`);
    assertEquals(tableStages(html), ["em[0].evaluate"]);
    assertMatch(html, /1 of 2 evaluations finished \(not yet: em\[1\]\.evaluate\)/);
    assert(await Deno.stat(`${dir}/mid/sinkhorn.png`).then((s) => s.size > 0), "figures beside the page");
  } finally {
    const status = await run.status;
    await run.stdout.cancel().catch(() => {});
    await run.stderr.cancel().catch(() => {});
    assertEquals(status.code, 0, "the run went on undisturbed");
  }
  const after = await cli(dir, "report", "--to", "mid");
  assertEquals(after.code, 0, after.stderr);
  assertEquals(tableStages(await Deno.readTextFile(`${dir}/mid/report.html`)), [
    "em[0].evaluate",
    "em[1].evaluate",
  ]);
  const noReport = await scratch(
    `store: store\nplugins: [${FIXTURES}]\nstages:\n  data: { task: fx-source }\n`,
  );
  assertEquals((await cli(noReport, "run")).code, 0);
  const refused = await cli(noReport, "report");
  assertEquals(refused.code, 2);
  assertMatch(refused.stderr, /the spec has no stage of task report/);
  await Deno.mkdir(`${dir}/mine`);
  const notOurs = await cli(dir, "report", "--to", "mine");
  assertEquals(notOurs.code, 1);
  assertMatch(notOurs.stderr, /mine exists and is not a report folder/);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(noReport, { recursive: true });
});
