/**
 * The store under hostile or unlucky conditions, through the real CLI: links out of the store,
 * garbled lock files, damaged checkpoints, debris of killed processes, filesystem refusals.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import {
  cli,
  cliWith,
  entryOutputs,
  FIXTURES,
  ranStages,
  scratch,
  SLOW_WALK,
  snapshot,
  spawnCli,
  statuses,
  untilCheckpoint,
} from "./cli_helpers.ts";

const SMALL = `
store: store
seed: 3
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 8 } }
  walk: { task: fx-steps, inputs: { x: a }, params: { steps: 6, every: 2 } }
`;

/** A stack trace in a CLI's stderr (what a user-caused failure must never print). */
export const STACK = /\n\s+at .+:\d+:\d+/;

Deno.test("gc never deletes outside the store: a store whose subdirectories are links is refused", async () => {
  const dir = await scratch(SMALL);
  assertEquals((await cli(dir, "run")).code, 0);
  const outside = await Deno.makeTempDir({ prefix: "outside-" });
  await Deno.writeTextFile(`${outside}/precious.txt`, "keep me");
  await Deno.mkdir(`${outside}/0123456789abcdef0123456789abcdef.1`);
  for (const sub of ["quarantine", "checkpoints", "refs"]) {
    await Deno.remove(`${dir}/store/${sub}`, { recursive: true });
    await Deno.symlink(outside, `${dir}/store/${sub}`);
    for (const args of [["gc"], ["gc", "--dry-run"], ["status"], ["run"]]) {
      const r = await cli(dir, ...args);
      assertEquals(r.code, 1, `${args}: ${r.stdout}`);
      assertMatch(r.stderr, new RegExp(`store/${sub} is a symbolic link .*never follows links`));
      assert(!STACK.test(r.stderr), r.stderr);
    }
    assertEquals([...Deno.readDirSync(outside)].map((e) => e.name).sort(), [
      "0123456789abcdef0123456789abcdef.1",
      "precious.txt",
    ]);
    await Deno.remove(`${dir}/store/${sub}`);
    await Deno.mkdir(`${dir}/store/${sub}`);
  }
});

Deno.test("gc deletes only names the store made", async () => {
  const dir = await scratch(SMALL);
  assertEquals((await cli(dir, "run")).code, 0);
  const mine = ["entries/notes", "quarantine/README", "checkpoints/keep.txt", "refs/x.txt"];
  for (const p of mine) await Deno.writeTextFile(`${dir}/store/${p}`, "user file");
  const r = await cli(dir, "gc", "--set", "walk.steps=4");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /removed entries\/[0-9a-f]{32}/);
  for (const p of mine) assertEquals(await Deno.readTextFile(`${dir}/store/${p}`), "user file");
});

Deno.test("an empty or garbled LOCK, a garbled key lock, or LOCK as a directory is an error naming the file, never a spin", async () => {
  const dir = await scratch(SMALL);
  assertEquals((await cli(dir, "run", "--until", "a")).code, 0);
  const key = (await statuses(dir)).walk.key;
  const cases: [string, () => Promise<void>][] = [
    ["store/LOCK", () => Deno.writeTextFile(`${dir}/store/LOCK`, "")],
    ["store/LOCK", () => Deno.writeTextFile(`${dir}/store/LOCK`, '{"pid": "x"')],
    ["store/LOCK", () => Deno.mkdir(`${dir}/store/LOCK`)],
    [`store/locks/${key}`, () => Deno.writeTextFile(`${dir}/store/locks/${key}`, "\0\0\0")],
  ];
  for (const [file, damage] of cases) {
    await damage();
    const before = await snapshot(`${dir}/store/entries`);
    const r = await cli(dir, "run");
    assertEquals(r.code, 1, r.stdout);
    assertMatch(
      r.stderr,
      new RegExp(`lock file \\S+/${file} (is empty or garbled|cannot be read).*remove it`),
    );
    assert(!STACK.test(r.stderr), r.stderr);
    assertEquals(await snapshot(`${dir}/store/entries`), before);
    await Deno.remove(`${dir}/${file}`, { recursive: true });
  }
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), ["walk"]);
});

const outputs = (dir: string) => entryOutputs(`${dir}/store`);

/** A store whose `walk` stopped at step 5, leaving its checkpoint `walk@N` of step 4; its directory. */
async function interruptedWalk(): Promise<{ dir: string; slot: string }> {
  const dir = await scratch(SMALL);
  const r = await cliWith(dir, { FX_STEPS_FAIL_AT: "5" }, "run");
  assertEquals(r.code, 1, r.stdout);
  const key = (await statuses(dir)).walk.key;
  const [slot] = [...Deno.readDirSync(`${dir}/store/checkpoints/${key}`)].map((e) => e.name);
  assertMatch(slot, /^walk@\d+$/);
  return { dir, slot: `${dir}/store/checkpoints/${key}/${slot}` };
}

Deno.test("a damaged checkpoint is never read: verify reports it, the run discards it (logged) and redoes its work", async () => {
  const clean = await scratch(SMALL);
  assertEquals((await cli(clean, "run")).code, 0);
  const expected = await outputs(clean);
  const damages: [string, (slot: string) => Promise<void>][] = [
    ["flipped byte in a chunk", async (slot) => {
      const chunk = `${slot}/arrays/x/c/0`;
      const bytes = await Deno.readFile(chunk);
      bytes[bytes.length - 2] ^= 0x10;
      await Deno.writeFile(chunk, bytes);
    }],
    ["truncated chunk", async (slot) => {
      const chunk = `${slot}/arrays/x/c/0`;
      await Deno.writeFile(chunk, (await Deno.readFile(chunk)).slice(0, 5));
    }],
    ["garbage state.json", (slot) => Deno.writeTextFile(`${slot}/state.json`, "{garbage")],
    ["edited state", async (slot) => {
      const text = await Deno.readTextFile(`${slot}/state.json`);
      await Deno.writeTextFile(`${slot}/state.json`, text.replace('\\"step\\":4', '\\"step\\":2'));
    }],
  ];
  for (const [what, damage] of damages) {
    const { dir, slot } = await interruptedWalk();
    await damage(slot);
    const v = await cli(dir, "verify");
    assertEquals(v.code, 1, `${what}: ${v.stdout}`);
    assertMatch(v.stdout, /walk: DAMAGED CHECKPOINT/);
    const r = await cli(dir, "run");
    assertEquals(r.code, 0, `${what}: ${r.stderr}`);
    assertMatch(r.stdout, /checkpoint walk@\d+ failed its check \(.+\): discarded, its work is redone/);
    assert(!/resumed at step/.test(r.stdout), `${what}: resumed from a damaged checkpoint`);
    assertEquals(await outputs(dir), expected, what);
    assertEquals((await cli(dir, "verify")).code, 0);
  }
});

Deno.test("an incomplete checkpoint slot (killed during clean-up) is ignored and removed; the last complete one resumes", async () => {
  const clean = await scratch(SMALL);
  assertEquals((await cli(clean, "run")).code, 0);
  const { dir, slot } = await interruptedWalk();
  const n = Number(slot.match(/@(\d+)$/)![1]);
  const newer = slot.replace(/@\d+$/, `@${n + 1}`);
  await Deno.mkdir(`${newer}/arrays`, { recursive: true });
  const r = await cli(dir, "run", "--force", "walk");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /resumed at step 4/);
  assertMatch(r.stdout, /incomplete: state\.json is missing/);
  assertEquals(await outputs(dir), await outputs(clean));
});

Deno.test("a temporary folder whose .host was never written (killed in between) is cleaned by the next run and by gc", async () => {
  const dir = await scratch(SMALL);
  assertEquals((await cli(dir, "run")).code, 0);
  // pid 2^22 + 1 is above Linux's pid_max: never a live process.
  const dead = 4194305;
  const old = new Date(Date.now() - 3600_000);
  for (
    const name of [`0123456789abcdef0123456789abcdef.${dead}.1`, `0123456789abcdef0123456789abcdef.${dead}.2`]
  ) {
    await Deno.mkdir(`${dir}/store/tmp/${name}`);
    await Deno.writeTextFile(`${dir}/store/tmp/${name}/.host`, "");
    await Deno.utime(`${dir}/store/tmp/${name}`, old, old);
  }
  // A fresh one might be another host's writer about to record itself: kept for now.
  const fresh = `0123456789abcdef0123456789abcdef.${dead}.3`;
  await Deno.mkdir(`${dir}/store/tmp/${fresh}`);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stdout,
    /removed tmp\/0123456789abcdef0123456789abcdef\.4194305\.1 left by a process that died/,
  );
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].map((e) => e.name), [fresh]);
  await Deno.utime(`${dir}/store/tmp/${fresh}`, old, old);
  const g = await cli(dir, "gc");
  assertEquals(g.code, 0, g.stderr);
  assertMatch(g.stdout, /removed tmp\/\S+\.3 left by a process that died/);
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].length, 0);
});

Deno.test("Ctrl-C to the whole group, forwarded once more (as `deno task` does): one interrupt, a summary, nothing left", async () => {
  const dir = await scratch(SLOW_WALK);
  const child = spawnCli(dir, "run");
  assert(await untilCheckpoint(dir, "walk"), "no checkpoint appeared");
  // The terminal's Ctrl-C to the group, then the copy a wrapper forwards to the CLI itself.
  // Both from one shell, microseconds apart as a wrapper's echo is: two spawned `kill`s could be a second
  // apart on a loaded machine, which the CLI rightly takes for a second Ctrl-C.
  await new Deno.Command("bash", {
    args: ["-c", `kill -INT -- -${child.pid}; kill -INT ${child.pid}`],
  }).output();
  const status = await child.status;
  const out = new TextDecoder().decode(await new Response(child.stdout).arrayBuffer());
  await child.stderr.cancel();
  assertEquals(status.code, 1, out);
  assertMatch(out, /^interrupted: \d+ ran, .* in \S+$/m);
  assert(!(await exists(`${dir}/store/LOCK`)), "LOCK left behind");
  assertEquals([...Deno.readDirSync(`${dir}/store/locks`)].map((e) => e.name), []);
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].map((e) => e.name), []);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /resumed at step/);
});

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("crash finding: checkpoints half-removed after publishing (killed) are removed by the next run", async () => {
  const dir = await scratch(SMALL);
  assertEquals((await cli(dir, "run")).code, 0);
  const key = (await statuses(dir)).walk.key;
  await Deno.mkdir(`${dir}/store/checkpoints/${key}/walk@5/arrays`, { recursive: true });
  const v = await cli(dir, "verify");
  assertEquals(v.code, 1);
  assertMatch(v.stdout, /walk: DAMAGED CHECKPOINT \(incomplete: state\.json is missing\)/);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(ranStages(r.stdout), []);
  assertMatch(r.stdout, /removed checkpoints of walk \([0-9a-f]{32}\), which is in the store already/);
  assertEquals((await cli(dir, "verify")).code, 0);
});
