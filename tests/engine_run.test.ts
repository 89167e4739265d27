/**
 * The engine end to end, through the real CLI in subprocesses: caching, partial reruns, laps,
 * interruption and resume, damage detection, locking, parallel jobs, failures.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  cli,
  FIXTURES,
  ranStages,
  scratch,
  show,
  SLOW_WALK,
  snapshot,
  spawnCli,
  statuses,
  untilCheckpoint,
} from "./cli_helpers.ts";
import { tailBeyond } from "../lib/engine/executor.ts";

const BASE = `
store: store
seed: 7
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 16 } }
  b: { task: fx-scale, inputs: { x: a }, params: { factor: 3 } }
  c: { task: fx-scale, inputs: { x: a }, params: { factor: 5 } }
  em:
    loop: { laps: 2, start: { walk: b } }
    stages:
      walk: { task: fx-steps, inputs: { x: prev.walk }, params: { steps: 6, every: 2 } }
  total: { task: fx-sum, inputs: { xs: "em[*].walk" } }
`;

Deno.test("a first run runs every stage; an unchanged rerun runs nothing", async () => {
  const dir = await scratch(BASE);
  const r1 = await cli(dir, "run");
  assertEquals(r1.code, 0, r1.stderr);
  assertEquals(ranStages(r1.stdout), ["a", "b", "c", "em[0].walk", "em[1].walk", "total"]);
  const before = await snapshot(`${dir}/store/entries`);
  const r2 = await cli(dir, "run");
  assertEquals(r2.code, 0, r2.stderr);
  assertEquals(ranStages(r2.stdout), []);
  assertMatch(r2.stdout, /0 ran, 6 cached, 0 failed/);
  assertEquals(
    [...(await snapshot(`${dir}/store/entries`))],
    [...before],
    "store unchanged by a cached rerun",
  );
});

Deno.test("changing one parameter reruns exactly that stage and its descendants", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  const st = await statuses(dir, "--set", "b.factor=4");
  assertEquals(st.b.status, "stale");
  assertMatch(st.b.reasons.join(), /params changed: factor 3 → 4/);
  assertEquals(st.a.status, "cached");
  assertEquals(st.c.status, "cached");
  const r = await cli(dir, "run", "--set", "b.factor=4");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), ["b", "em[0].walk", "em[1].walk", "total"]);
  // Same again from the YAML: the spec and the override give the same keys.
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, BASE.replace("factor: 3", "factor: 4"));
  assertEquals(ranStages((await cli(dir, "run")).stdout), []);
});

Deno.test("raising the EM laps from 2 to 3 runs only lap 3 and what reads every lap", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  // `total`'s reason names only the upstream lap that is missing, not the cached ones.
  const st = await statuses(dir, "--set", "em.laps=3");
  assertEquals(st.total.reasons, ["input xs changed (upstream em[2].walk is not cached)"]);
  const r = await cli(dir, "run", "--set", "em.laps=3");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), ["em[2].walk", "total"]);
  const total = await show(dir, "total", "--set", "em.laps=3");
  assertEquals((total.metrics as { count: number }).count, 3);
});

Deno.test("a run killed with SIGKILL mid-stage resumes from its checkpoint and matches an uninterrupted run", async () => {
  const spec = `
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 32 } }
  walk: { task: fx-steps, inputs: { x: a }, params: { steps: 40, every: 4, sleep_ms: 100 } }
`;
  const clean = await scratch(spec);
  assertEquals((await cli(clean, "run")).code, 0);
  const expected = await show(clean, "walk");

  const dir = await scratch(spec);
  const child = spawnCli(dir, "run");
  // Wait until the stage has saved a checkpoint past step 8, then kill the whole process group.
  const ckptRoot = `${dir}/store/checkpoints`;
  const deadline = Date.now() + 30_000;
  let saw = false;
  while (!saw && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      for await (const k of Deno.readDir(ckptRoot)) {
        for await (const s of Deno.readDir(`${ckptRoot}/${k.name}`)) {
          const m = s.name.match(/^walk@(\d+)$/);
          if (m && Number(m[1]) >= 3) saw = true;
        }
      }
    } catch { /* not yet */ }
  }
  assert(saw, "the stage never checkpointed");
  await new Deno.Command("kill", { args: ["-KILL", "--", `-${child.pid}`] }).output();
  await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  assertEquals((await statuses(dir)).walk.status, "missing");

  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /resuming from walk/);
  const resumed = await show(dir, "walk");
  assertEquals((resumed.metrics as { resumed: boolean }).resumed, true);
  assertEquals(resumed.key, expected.key);
  assertEquals(
    (resumed.metrics as { norm: number }).norm,
    (expected.metrics as { norm: number }).norm,
    "same output as uninterrupted",
  );
  const outA = await snapshot(`${clean}/store/entries/${expected.key}/arrays`);
  const outB = await snapshot(`${dir}/store/entries/${resumed.key}/arrays`);
  assertEquals([...outB], [...outA], "bit-identical arrays");
  // Nothing left behind by the killed processes.
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].map((e) => e.name), []);
  assertEquals([...Deno.readDirSync(`${dir}/store/checkpoints`)].map((e) => e.name), []);
});

Deno.test("a truncated chunk and an edited manifest are detected and recomputed", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  const a = await show(dir, "a");
  const b = await show(dir, "b");
  const entryA = a.entry as string;
  const entryB = b.entry as string;
  const good = await snapshot(`${entryA}/arrays`);
  // Truncate a's chunk.
  const chunk = [...(await snapshot(`${entryA}/arrays/x`)).keys()].find((k) => k.startsWith("c/"))!;
  const path = `${entryA}/arrays/x/${chunk}`;
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.subarray(0, bytes.length - 3));
  // Edit b's manifest (a metric), keeping it valid JSON.
  const man = JSON.parse(await Deno.readTextFile(`${entryB}/manifest.json`));
  man.metrics.sum = 0;
  await Deno.writeTextFile(`${entryB}/manifest.json`, JSON.stringify(man));

  const st = await statuses(dir);
  assertMatch(st.a.reasons.join(), /damaged.*bytes/);
  assertMatch(st.b.reasons.join(), /damaged.*manifest\.json was modified/);
  const v = await cli(dir, "verify");
  assertEquals(v.code, 1);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), ["a", "b"]);
  assertEquals([...(await snapshot(`${entryA}/arrays`))], [...good], "recomputed bit for bit");
  assertEquals((await cli(dir, "verify")).code, 0);
  // The damaged copies were set aside, not deleted.
  assertEquals([...Deno.readDirSync(`${dir}/store/quarantine`)].length, 2);
});

Deno.test("a flipped byte of the same size is caught by the checksum before the entry is read", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  const a = await show(dir, "a");
  const chunk = [...(await snapshot(`${a.entry}/arrays/x`)).keys()].find((k) => k.startsWith("c/"))!;
  const path = `${a.entry}/arrays/x/${chunk}`;
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 1] ^= 0xff;
  await Deno.writeFile(path, bytes);
  // c reads a: force it, so that a is read and must be verified in full first.
  const r = await cli(dir, "run", "--force", "c");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /a: store entry \w+ is damaged \(.*checksum/);
  assertEquals(ranStages(r.stdout), ["a", "c"]);
});

Deno.test("two runs on one store: the second refuses with a clear message, or waits with --wait", async () => {
  const dir = await scratch(BASE.replace("params: { n: 16 }", "params: { n: 16, sleep_ms: 2500 }"));
  const first = spawnCli(dir, "run");
  // Wait for the lock to appear.
  for (let i = 0; i < 100; i++) {
    try {
      await Deno.stat(`${dir}/store/LOCK`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const second = await cli(dir, "run");
  assertEquals(second.code, 1);
  assertMatch(second.stderr, /store .* is in use by pid \d+ .*--wait/);
  const waited = await cli(dir, "run", "--wait");
  assertEquals(waited.code, 0, waited.stderr);
  assertMatch(waited.stdout, /waiting for the store lock/);
  assertEquals((await first.status).code, 0);
  await first.stdout.cancel();
  await first.stderr.cancel();
  assertMatch(waited.stdout, /0 ran, 6 cached/);
  assertEquals((await cli(dir, "verify")).code, 0);
});

Deno.test("independent stages run concurrently with --jobs 2", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  p: { task: fx-source, params: { n: 4, sleep_ms: 1500 } }
  q: { task: fx-source, params: { n: 5, sleep_ms: 1500 } }
`);
  const r = await cli(dir, "run", "--jobs", "2");
  assertEquals(r.code, 0, r.stderr);
  const p = (await show(dir, "p")).meta as { started: string; finished: string };
  const q = (await show(dir, "q")).meta as { started: string; finished: string };
  const overlap = Math.min(Date.parse(p.finished), Date.parse(q.finished)) -
    Math.max(Date.parse(p.started), Date.parse(q.started));
  assert(overlap > 1000, `stages should overlap by > 1 s, overlap ${overlap} ms`);
});

Deno.test("a failing stage: its dependents are skipped, others finish, the error reaches the user, exit 1", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source }
  bad: { task: fx-fail, inputs: { x: a }, params: { message: "the flux capacitor is empty" } }
  after: { task: fx-scale, inputs: { x: bad } }
  other: { task: fx-scale, inputs: { x: a } }
`);
  const r = await cli(dir, "run");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /stage bad failed: the flux capacitor is empty/);
  // A plain Error is a bug: its log tail keeps the stack trace.
  assertMatch(r.stderr, /\| Error: the flux capacitor is empty\n\s+\|\s+at /);
  assertMatch(r.stdout, /2 ran, 0 cached, 1 failed, 1 skipped/);
  const st = await statuses(dir);
  assertEquals([st.a.status, st.other.status, st.bad.status, st.after.status], [
    "cached",
    "cached",
    "missing",
    "missing",
  ]);
});

Deno.test("failures that are the user's to fix: each message once, no stack, the warnings before it kept, exit 1", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source }
  bad:
    task: fx-fail
    inputs: { x: a }
    params: { message: "rank 9 must be below D = 4: lower rank", user: true, warn: "warning: few samples" }
  total: { task: fx-sum, inputs: { xs: [a] } }
  scaled: { task: fx-scale, inputs: { x: total } }
`);
  const r = await cli(dir, "run");
  assertEquals(r.code, 1);
  assertMatch(
    r.stderr,
    /stage bad failed: rank 9 must be below D = 4: lower rank\n {2}\| warning: few samples\n/,
  );
  assertEquals(r.stderr.match(/rank 9/g)?.length, 1, r.stderr);
  // An input wired to a stage that lacks the array the task reads is the spec's to fix too.
  assertMatch(
    r.stderr,
    /stage scaled failed: stage total \(task fx-sum\) has no array "x" \(has: none\): wire a stage that publishes it\n/,
  );
  assert(!/^\s+(\| )?\s*at /m.test(r.stderr), `a stack trace:\n${r.stderr}`);
  const st = await statuses(dir);
  assertEquals([st.bad.status, st.scaled.status], ["missing", "missing"]);
  const e = await cli(dir, "exec", "bad");
  assertEquals([e.code, e.stderr], [1, "warning: few samples\nrank 9 must be below D = 4: lower rank\n"]);
});

Deno.test("a failed stage's log tail drops the message it ended with, and keeps a bug's stack", () => {
  const message = "rank 9 must be below D = 4\nlower rank";
  assertEquals(tailBeyond(["reading y", "rank 9 must be below D = 4", "lower rank"], message), ["reading y"]);
  const stack = ["Error: rank 9 must be below D = 4", "lower rank", "    at f (file:///t.ts:1:7)"];
  assertEquals(tailBeyond(stack, message), stack);
  assertEquals(tailBeyond(["killed"], undefined), ["killed"]);
});

Deno.test("a stage that writes NaN fails naming the output and index, and publishes nothing", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  n: { task: fx-nan }
`);
  const r = await cli(dir, "run");
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /non-finite value \(NaN\) in output "x" at flat index 1/);
  assertEquals([...Deno.readDirSync(`${dir}/store/entries`)].length, 0);
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].length, 0);
});

Deno.test("--until, --force and --dry-run", async () => {
  const dir = await scratch(BASE);
  const dry = await cli(dir, "run", "--dry-run");
  assertEquals(dry.code, 0, dry.stderr);
  assertMatch(dry.stdout, /6 of 6 stages would run/);
  assertEquals((await snapshot(`${dir}/store`)).size, 0, "a dry run writes nothing");
  const u = await cli(dir, "run", "--until", "b");
  assertEquals(ranStages(u.stdout), ["a", "b"]);
  assertEquals((await cli(dir, "run")).code, 0);
  const f = await cli(dir, "run", "--force", "em[1].walk");
  assertEquals(ranStages(f.stdout), ["em[1].walk", "total"]);
});

Deno.test("exec runs one stage in a fresh process from the store, and says what is missing", async () => {
  const dir = await scratch(BASE);
  const early = await cli(dir, "exec", "b");
  assertEquals(early.code, 1);
  assertMatch(early.stderr, /needs the outputs of a .* not in the store: run that stage first/);
  assertEquals((await cli(dir, "exec", "a")).code, 0);
  const r = await cli(dir, "exec", "b");
  assertEquals(r.code, 0, r.stderr);
  const st = await statuses(dir);
  assertEquals([st.a.status, st.b.status, st.c.status], ["cached", "cached", "missing"]);
});

Deno.test("gc removes what no spec refers to and keeps the rest", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  assertEquals((await cli(dir, "run", "--set", "c.factor=6")).code, 0);
  const entries = () => [...Deno.readDirSync(`${dir}/store/entries`)].length;
  assertEquals(entries(), 7);
  const dry = await cli(dir, "gc", "--dry-run");
  assertMatch(dry.stdout, /would remove entries\//);
  assertEquals(entries(), 7);
  // Cluster logs are named after their key: those of removed entries go too.
  const live = (await show(dir, "c")).key as string;
  await Deno.mkdir(`${dir}/store/logs`, { recursive: true });
  await Deno.writeTextFile(`${dir}/store/logs/${live}.11.out`, "");
  await Deno.writeTextFile(`${dir}/store/logs/0123456789abcdef0123456789abcdef.12.out`, "");
  assertEquals((await cli(dir, "gc")).code, 0);
  assertEquals(entries(), 6);
  assertEquals([...Deno.readDirSync(`${dir}/store/logs`)].map((e) => e.name), [`${live}.11.out`]);
  assertEquals(ranStages((await cli(dir, "run")).stdout), []);
});

Deno.test("metrics, dag and show report what the store holds", async () => {
  const dir = await scratch(BASE);
  assertEquals((await cli(dir, "run")).code, 0);
  const m = await cli(dir, "metrics", "--json");
  const metrics = JSON.parse(m.stdout);
  assert("em[1].walk" in metrics && typeof metrics["em[1].walk"].norm === "number");
  const table = await cli(dir, "metrics");
  assertMatch(table.stdout, /em\[\*\]\.walk\nlap\s+norm\n0\s+[\d.]+\n1\s+[\d.]+/);
  const mer = await cli(dir, "dag", "--format", "mermaid");
  assertMatch(mer.stdout, /^graph TD/);
  assertMatch(mer.stdout, /-->\|xs\|/);
  const dot = await cli(dir, "dag", "--format", "dot");
  assertMatch(dot.stdout, /"em\[0\]\.walk" -> "em\[1\]\.walk" \[label="x"\]/);
  const s = await cli(dir, "show", "em[0].walk");
  assertMatch(s.stdout, /array +x float32\[16\]/);
  assertMatch(s.stdout, /input +x ← b/);
  // Laps counted from the end, as in a spec's references: em[-1] is the last lap, em[-2] the one before.
  assertMatch((await cli(dir, "show", "em[-1].walk")).stdout, /^em\[1\]\.walk /);
  assertMatch((await cli(dir, "show", "em[-2].walk")).stdout, /input +x ← b/);
  const tooFar = await cli(dir, "show", "em[-3].walk");
  assertEquals(tooFar.code, 2);
  assertMatch(tooFar.stderr, /no stage "em\[-3\]\.walk"/);
  // A comma-separated list names the repeated flags to use instead.
  const listed = await cli(dir, "run", "--until", "em[0].walk,em[-1].walk");
  assertEquals(listed.code, 2);
  assertMatch(listed.stderr, /give one stage per flag, --until em\[0\]\.walk --until em\[-1\]\.walk/);
  const out = await Deno.makeTempDir();
  assertEquals((await cli(dir, "export", "em[-1].walk", "--to", `${out}/walk.zarr`)).code, 0);
});

Deno.test("Ctrl-C stops the running stage, keeps its checkpoint and the store whole; the rerun resumes", async () => {
  const dir = await scratch(SLOW_WALK);
  const child = spawnCli(dir, "run");
  assert(await untilCheckpoint(dir, "walk"), "no checkpoint appeared");
  // A terminal's Ctrl-C: SIGINT to the whole foreground process group.
  await new Deno.Command("kill", { args: ["-INT", "--", `-${child.pid}`] }).output();
  const status = await child.status;
  const out = new TextDecoder().decode(await new Response(child.stdout).arrayBuffer());
  await child.stderr.cancel();
  assertEquals(status.code, 1);
  assertMatch(out, /interrupted/);
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].map((e) => e.name), []);
  assertEquals((await cli(dir, "verify")).code, 0);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /resuming from walk/);
});
