/**
 * The store under hostile or unlucky conditions, through the real CLI: links out of the store,
 * garbled lock files, damaged checkpoints, debris of killed processes, filesystem refusals.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, FIXTURES, ranStages, scratch, snapshot, statuses } from "./cli_helpers.ts";

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
