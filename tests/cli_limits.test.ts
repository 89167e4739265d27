/**
 * Limits and user-caused failures through the real CLI: huge numbers, runaway specs, alias bombs,
 * odd stores. Each gives a one-paragraph message with exit 2 (spec, command line) or 1 (run
 * time), never a stack trace, and leaves the store as it was.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, FIXTURES, scratch, snapshot, statuses } from "./cli_helpers.ts";

/** A stack trace in stderr (what a user-caused failure must never print). */
const STACK = /\n\s+at .+:\d+:\d+/;

function clean(r: { stderr: string }): void {
  assert(!STACK.test(r.stderr), `a stack trace:\n${r.stderr}`);
}

Deno.test("huge laps, shards, samples and steps are spec errors before anything is built", async () => {
  const dir = await scratch(`
store: store
stages:
  data: { task: dataset, params: { samples: 1e12 } }
  obs: { task: corrupt, inputs: { x: data } }
  gauss: { task: fit-gaussian, inputs: { obs: obs } }
  em:
    loop: { laps: 3, start: { fit: gauss } }
    stages:
      sample: { task: sample-posterior, inputs: { obs: obs, prior: prev.fit }, params: { shards: 1e9, steps: 1e12 } }
      fit: { task: fit-prior, inputs: { samples: sample }, params: { steps: 1e12 } }
`);
  const r = await cli(dir, "status");
  assertEquals(r.code, 2, r.stdout);
  clean(r);
  assertMatch(r.stderr, /samples/);
  assertMatch(r.stderr, /shards/);
  assertMatch(r.stderr, /steps/);
  const text = await Deno.readTextFile(`${dir}/pipeline.yaml`);
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    text.replace(/ 1e\d+/g, " 4").replace("laps: 3", "laps: 1e12"),
  );
  const l = await cli(dir, "status");
  assertEquals(l.code, 2, l.stdout);
  clean(l);
  assertMatch(l.stderr, /laps of "em" is at most 10000, got 1000000000000/);
  const tasks = JSON.parse((await cli(dir, "tasks", "--json")).stdout) as {
    name: string;
    params: { properties: Record<string, { maximum?: number }> };
  }[];
  const schema = (task: string) => tasks.find((t) => t.name === task)!.params.properties;
  assertEquals(schema("sample-posterior").shards.maximum, 1e4);
  assertEquals(schema("dataset").samples.maximum, 1e8);
});

Deno.test("a runaway spec: 20 000 unknown keys give a capped, counted list quickly; an alias bomb is refused", async () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join("\n");
  const dir = await scratch(
    `store: store\n${keys}\nstages: { a: { task: fx-source } }\nplugins: [${FIXTURES}]\n`,
  );
  const r = await cli(dir, "status");
  assertEquals(r.code, 2);
  clean(r);
  assert(r.stderr.split("\n").length < 60, `${r.stderr.split("\n").length} lines`);
  assertMatch(r.stderr, /and 19980 more unknown keys/);
  const lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (const [x, y] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
    lol.push(`${x}: &${x} [${Array(9).fill(`*${y}`).join(", ")}]`);
  }
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, `${lol.join("\n")}\nstages: {}\n`);
  const b = await cli(dir, "status");
  assertEquals(b.code, 2);
  clean(b);
  assertMatch(b.stderr, /pipeline\.yaml: cannot read the YAML: .*aliases/);
});

Deno.test("odd stores: / as the store, an entry replaced by a file: clear messages, no stack trace", async () => {
  const dir = await scratch(`store: store\nplugins: [${FIXTURES}]\nstages: { a: { task: fx-source } }\n`);
  const root = await cli(dir, "run", "--set", "store=/");
  assertEquals(root.code, 1);
  clean(root);
  assertMatch(root.stderr, /store directory \/ is not empty and is not a store/);
  assertEquals((await cli(dir, "run")).code, 0);
  const [key] = [...Deno.readDirSync(`${dir}/store/entries`)].map((e) => e.name);
  await Deno.remove(`${dir}/store/entries/${key}`, { recursive: true });
  await Deno.writeTextFile(`${dir}/store/entries/${key}`, "not an entry");
  const before = await snapshot(`${dir}/store`);
  for (const cmd of ["status", "verify"]) {
    const r = await cli(dir, cmd);
    clean(r);
    assertMatch(r.stdout, /not a directory/);
  }
  assertEquals(await snapshot(`${dir}/store`), before, "inspection changes nothing");
  const v = await cli(dir, "verify");
  assertEquals(v.code, 1);
  assertMatch(v.stdout, /recompute them with: pipeline run --force 'a'/);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  assertEquals((await cli(dir, "verify")).code, 0);
});

Deno.test("stages whose parameters do not fit their input: each message once, no stack trace, nothing published", async () => {
  // A low-rank Gaussian needs an operator with a normal form; blur has none (the task says so).
  const dir = await scratch(`
store: store
stages:
  x: { task: dataset, params: { source: mnist, split: train, samples: 16, size: 7 } }
  obs: { task: corrupt, inputs: { x: x }, params: { operator: { kind: blur, width: 1 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { covariance: lowrank, rank: 4 } }
  tall: { task: corrupt, inputs: { x: x }, params: { operator: { kind: box, height: 20 }, sigma_y: 0.01 } }
`);
  const message =
    /fit-gaussian: covariance lowrank needs an operator with a normal form .*use covariance full/g;
  const r = await cli(dir, "run");
  assertEquals(r.code, 1, r.stderr);
  clean(r);
  assertMatch(r.stderr, /stage gauss failed: fit-gaussian: covariance lowrank needs an operator/);
  assertEquals(r.stderr.match(message)?.length, 1, `the message once in the summary:\n${r.stderr}`);
  // What only the data says about an operator (a box taller than the 7 × 7 images) is the same kind of failure.
  assertMatch(r.stderr, /stage tall failed: corrupt: box: height must be .* in \[1, 7\], got 20\n/);
  assert(!/^\s+\| /m.test(r.stderr), `no log tail that repeats the message:\n${r.stderr}`);
  const st = await statuses(dir);
  assertEquals([st.x.status, st.obs.status, st.gauss.status, st.tall.status], [
    "cached",
    "cached",
    "missing",
    "missing",
  ]);
  assertEquals([...Deno.readDirSync(`${dir}/store/entries`)].length, 2);
  assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].length, 0);
  // The stage process alone: the message is all it prints on stderr.
  const e = await cli(dir, "exec", "gauss");
  assertEquals(e.code, 1);
  assertMatch(e.stderr, /^fit-gaussian: covariance lowrank needs an operator[^\n]*\n$/);
});

Deno.test("plugins: a path with #, %20 or a newline loads; --no-plugins inspects without running plugin code", async () => {
  const dir = await scratch("");
  const odd = `${dir}/a#b %20c\nd`;
  await Deno.mkdir(odd);
  const marker = `${dir}/plugin-ran`;
  await Deno.writeTextFile(
    `${odd}/plugin.ts`,
    `export { tasks } from ${JSON.stringify(FIXTURES)};\nDeno.writeTextFileSync(${
      JSON.stringify(marker)
    }, "ran");\n`,
  );
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `store: store\nplugins: [${JSON.stringify(`${odd}/plugin.ts`)}]\nstages: { a: { task: fx-source } }\n`,
  );
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  await Deno.remove(marker);
  for (const cmd of [["status"], ["dag"], ["verify"], ["show", "a"], ["metrics"], ["gc", "--dry-run"]]) {
    const n = await cli(dir, ...cmd, "--no-plugins");
    assertEquals(n.code, 2, `${cmd}: ${n.stdout}`);
    clean(n);
    assertMatch(n.stderr, /task "fx-source" is not built in and --no-plugins loads no plugin code/);
  }
  assert(!(await Deno.lstat(marker).then(() => true, () => false)), "plugin code ran under --no-plugins");
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, `store: store2\nstages: { d: { task: dataset } }\n`);
  const builtin = await cli(dir, "status", "--no-plugins");
  assertEquals(builtin.code, 0, builtin.stderr);
});

Deno.test("fuzz finding: an empty list where an input takes one stage is a spec error, not a crash", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source }
  b: { task: fx-scale, inputs: { x: [] } }
`);
  for (const cmd of [["status"], ["run", "--dry-run"]]) {
    const r = await cli(dir, ...cmd);
    assertEquals(r.code, 2, r.stdout);
    clean(r);
    assertMatch(
      r.stderr,
      /pipeline\.yaml:6:\d+: input "x" of task "fx-scale" takes one stage, got none \(\[\]\)/,
    );
  }
});

/** Whether this process may bind-mount (root with CAP_SYS_ADMIN): the read-only store test needs it. */
function canBindMount(): boolean {
  try {
    const dir = Deno.makeTempDirSync();
    const ok =
      new Deno.Command("mount", { args: ["--bind", "-o", "ro", dir, dir], stderr: "null" }).outputSync()
        .success;
    if (ok) new Deno.Command("umount", { args: [dir] }).outputSync();
    Deno.removeSync(dir);
    return ok;
  } catch {
    return false;
  }
}

Deno.test({
  name: "a store on a read-only filesystem: run, gc and exec say so in one paragraph; inspection works",
  ignore: !canBindMount(),
  async fn() {
    const dir = await scratch(`store: store\nplugins: [${FIXTURES}]\nstages: { a: { task: fx-source } }\n`);
    assertEquals((await cli(dir, "run")).code, 0);
    await new Deno.Command("mount", { args: ["--bind", "-o", "ro", `${dir}/store`, `${dir}/store`] })
      .output();
    try {
      for (const cmd of [["run"], ["gc"], ["exec", "a", "--force"]]) {
        const r = await cli(dir, ...cmd);
        assertEquals(r.code, 1, `${cmd}: ${r.stdout}`);
        clean(r);
        assertMatch(
          r.stderr,
          /^cannot use the filesystem: Read-only file system .*not run, exec or gc\)\.\n$/,
        );
      }
      for (const cmd of [["status"], ["verify"], ["run", "--dry-run"]]) {
        const r = await cli(dir, ...cmd);
        assertEquals(r.code, 0, `${cmd}: ${r.stderr}`);
      }
    } finally {
      await new Deno.Command("umount", { args: [`${dir}/store`] }).output();
    }
  },
});
