/**
 * The Slurm executor on a real Slurm: a single-node cluster on localhost, started by
 * `scripts/slurm-local.sh start` when this file loads and stopped by PID (`stop`) after the last
 * test (or at unload, if a test run is cut short). Where the script cannot run (not root, or no
 * Slurm and no apt-get) the cluster tests are skipped with a visible message; in CI they run.
 *
 * Covered: a DiEM-shaped pipeline (2 laps, sharded E-step as a job array) whose outputs are
 * bit-identical to the local executor's; a failing stage (and a failing shard) whose dependents
 * are cancelled and whose error and log tail reach the user; a resubmission after a failure that
 * submits only what is missing; Ctrl-C cancelling exactly the jobs the run submitted; `--detach`
 * with `status` and a later `run` picking the jobs up; a job that cannot see the store.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, FIXTURES, scratch, show, snapshot, spawnCli, statuses } from "./cli_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SCRIPT = `${ROOT}/scripts/slurm-local.sh`;
const CLUSTER = Deno.env.get("SLURM_LOCAL_DIR") ?? "/tmp/slurm-local";

// ------------------------------------------------------------------------------------------ the cluster

/** One Slurm per machine: test runs of other checkouts on this machine wait their turn here. */
const machineLock = await Deno.open("/tmp/slurm-local.tests.lock", { create: true, write: true });
await machineLock.lock(true);

const t0 = performance.now();
const started = await new Deno.Command("bash", {
  args: [SCRIPT, "start", CLUSTER],
  stdin: "null",
  stdout: "piped",
  stderr: "piped",
}).output();
const startLog = new TextDecoder().decode(started.stderr).trim();
/** 0: up; 3: the script cannot run here (skip); anything else: it failed (the tests fail). */
const startCode = started.code;
const ready = startCode === 0;
/** Whether this file started the daemons (so it stops them); a cluster already up is left running. */
const ownCluster = ready && !/already running/.test(startLog);
if (ready) {
  Deno.env.set("SLURM_CONF", `${CLUSTER}/slurm.conf`);
  console.log(
    `local Slurm ${ownCluster ? "started" : "already up"} in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
} else if (startCode === 3) {
  console.warn(
    `SKIPPED: the Slurm executor tests need a local Slurm, and ${SCRIPT} cannot run here:\n${startLog}`,
  );
}

let stopped = false;
function stopCluster(): void {
  if (stopped) return;
  stopped = true;
  if (ownCluster) new Deno.Command("bash", { args: [SCRIPT, "stop", CLUSTER], stdin: "null" }).outputSync();
  try {
    machineLock.unlockSync();
    machineLock.close();
  } catch { /* closed */ }
}
globalThis.addEventListener("unload", stopCluster);

/** A test on the cluster: skipped where the script cannot run; failing where it could but did not start. */
function slurmTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: startCode === 3, sanitizeOps: false, sanitizeResources: false, fn });
}

slurmTest("the local Slurm cluster is up (scripts/slurm-local.sh start)", async () => {
  assert(ready, `scripts/slurm-local.sh start failed (exit ${startCode}):\n${startLog}`);
  const sinfo = await new Deno.Command("sinfo", { args: ["-h", "-o", "%t"] }).output();
  assertMatch(new TextDecoder().decode(sinfo.stdout), /idle|mix|alloc/);
});

// ------------------------------------------------------------------------------------------ helpers

/** Stage id → job id, from the run's "ID: submitted as slurm job N" lines. */
function submissions(stdout: string): Record<string, string> {
  return Object.fromEntries(
    [...stdout.matchAll(/^ {2}(\S+): submitted as slurm job (\d+)/gm)].map((m) => [m[1], m[2]]),
  );
}

/** The states of jobs from squeue (array jobs expanded: `12_0`…). */
async function jobStates(jobs: string[]): Promise<Record<string, string>> {
  const out = await new Deno.Command("squeue", {
    args: ["-h", "-t", "all", "-r", "-j", jobs.join(","), "-o", "%i %T"],
  }).output();
  return Object.fromEntries(
    new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).map((l) => l.split(" ")),
  );
}

/** Wait until `test()` holds (polling), or fail with `what`. */
async function until(what: string, test: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Job ids recorded in the store for running stages (`<store>/slurm/<key>.json`), by stage. */
async function recordedJobs(store: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    for await (const e of Deno.readDir(`${store}/slurm`)) {
      if (!e.name.endsWith(".json")) continue;
      const r = JSON.parse(await Deno.readTextFile(`${store}/slurm/${e.name}`));
      out[r.stage] = r.job;
    }
  } catch { /* none yet */ }
  return out;
}

/** Everything of every entry but its manifest (which records times, hosts and pids), by key. */
async function outputs(store: string): Promise<Map<string, string>> {
  const all = await snapshot(`${store}/entries`);
  return new Map([...all].filter(([path]) => !path.endsWith("/manifest.json")).sort());
}

// ------------------------------------------------------------------------------------------ specs

/** DiEM's shape: data → observations; EM laps of a sharded E-step and an M-step; a report of every lap. */
const DIEM = `
store: store
seed: 11
plugins: [${FIXTURES}]
stages:
  data: { task: fx-source, params: { n: 48 } }
  obs: { task: fx-scale, inputs: { x: data }, params: { factor: 0.5 } }
  init: { task: fx-source, params: { n: 4, value: 0.1 } }
  em:
    loop: { laps: 2, start: { fit: init } }
    stages:
      sample:
        task: fx-sharded
        inputs: { x: obs, prior: prev.fit }
        params: { shards: 3 }
        resources: { cpus: 1, memory: 100M, time: "10:00" }
      fit: { task: fx-steps, inputs: { x: sample }, params: { steps: 6, every: 2 } }
  report: { task: fx-sum, inputs: { xs: "em[*].fit" } }
`;

// ------------------------------------------------------------------------------------------ tests without a cluster

Deno.test("--dry-run --executor slurm prints the sbatch scripts (resources, array, afterok) and submits nothing", async () => {
  const dir = await scratch(DIEM.replace(`time: "10:00" }`, `time: "10:00", sbatch: ["--comment=e-step"] }`));
  const r = await cli(dir, "run", "--executor", "slurm", "--dry-run");
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /8 of 8 stages would run/);
  const scripts = r.stdout.split(/^# ---- /m).slice(1);
  assertEquals(scripts.length, 10, "8 stages, two of them with a job array of shards");
  const shardScript = scripts.find((s) => s.startsWith("em[1].sample (shards: job array)"))!;
  assertMatch(shardScript, /#SBATCH --job-name=em\[1\]\.sample\n/);
  assertMatch(shardScript, /#SBATCH --array=0-2\n/);
  assertMatch(shardScript, /#SBATCH --dependency=afterok:<obs>:<em\[0\]\.fit>\n/);
  assertMatch(
    shardScript,
    /#SBATCH --cpus-per-task=1\n#SBATCH --mem=100M\n#SBATCH --time=10:00\n#SBATCH --comment=e-step\n/,
  );
  assertMatch(shardScript, /#SBATCH --output=\S+\/store\/logs\/[0-9a-f]{32}\.%A_%a\.out\n/);
  assertMatch(shardScript, /exec .* exec 'em\[1\]\.sample' .*--shard "\$SLURM_ARRAY_TASK_ID"/);
  const gather = scripts.find((s) => s.startsWith("em[1].sample\n"))!;
  assertMatch(gather, /#SBATCH --dependency=afterok:<em\[1\]\.sample\/shards>\n/);
  assert(!/--shard/.test(gather), "the gather job runs the whole stage");
  for (const s of scripts) {
    assertMatch(
      s,
      /test -f \S+\/store\/STORE \|\| \{ echo "store \S+ is not visible on \$\(hostname\): the store must be on a filesystem every node sees" >&2; exit 1; \}/,
    );
    assertMatch(s, /#SBATCH --chdir=/);
  }
  assertEquals((await snapshot(`${dir}/store`)).size, 0, "a dry run writes nothing");
});

Deno.test("resources: unknown keys and bad values are spec errors (exit 2) naming the stage and the place", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, resources: { cpu: 2, memory: lots } }
`);
  const r = await cli(dir, "run", "--executor", "slurm", "--dry-run");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /pipeline\.yaml:5:\d+: unknown resource "cpu" in stage "a" did you mean "cpus"\?/);
  assertMatch(r.stderr, /resources\.memory of stage "a" must be a size such as "8G"/);
  await Deno.writeTextFile(
    `${dir}/pipeline.yaml`,
    `store: store\nplugins: [${FIXTURES}]\nstages: { a: { task: fx-source } }\n`,
  );
  const d = await cli(dir, "run", "--detach");
  assertEquals(d.code, 2);
  assertMatch(d.stderr, /--detach: only a cluster executor/);
});

Deno.test("job-script injection: a newline in the store path, the spec's folder or an sbatch flag is a spec error", async () => {
  const dir = await scratch(DIEM);
  const pwned = `${dir}/PWNED`;
  // In YAML double quotes a backslash-n is a newline.
  const cases = [
    DIEM.replace("store: store", `store: "${dir}/st\\ntouch ${pwned} #"`),
    DIEM.replace(`time: "10:00" }`, `time: "10:00", sbatch: ["--comment=x\\ntouch ${pwned}"] }`),
  ];
  for (const spec of cases) {
    await Deno.writeTextFile(`${dir}/pipeline.yaml`, spec);
    const r = await cli(dir, "run", "--executor", "slurm", "--dry-run");
    assertEquals(r.code, 2, r.stdout);
    assertMatch(r.stderr, /control character/);
    assert(!r.stdout.includes(`\ntouch ${pwned}`), r.stdout);
  }
  // A spec in a folder whose name has a newline: the --chdir directive would break.
  const odd = `${dir}/odd\ntouch PWNED #`;
  await Deno.mkdir(odd);
  await Deno.writeTextFile(`${odd}/pipeline.yaml`, DIEM.replace("store: store", `store: ${dir}/store2`));
  const r = await cli(dir, "run", "--executor", "slurm", "--dry-run", "-f", `${odd}/pipeline.yaml`);
  assertEquals(r.code, 2, r.stdout);
  assertMatch(r.stderr, /would enter its Slurm job script but contains a control character/);
  assertEquals((await snapshot(`${dir}/store`)).size, 0);
});

// ------------------------------------------------------------------------------------------ tests on the cluster

slurmTest(
  "a DiEM-shaped pipeline (2 laps, sharded E-step) on Slurm gives the local executor's outputs bit for bit",
  async () => {
    const local = await scratch(DIEM);
    const l = await cli(local, "run");
    assertEquals(l.code, 0, l.stderr);

    const dir = await scratch(DIEM);
    const r = await cli(dir, "run", "--executor", "slurm");
    assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assertMatch(r.stdout, /done: 8 ran, 0 cached, 0 failed/);
    const jobs = submissions(r.stdout);
    assertEquals(Object.keys(jobs).sort(), [
      "data",
      "em[0].fit",
      "em[0].sample",
      "em[1].fit",
      "em[1].sample",
      "init",
      "obs",
      "report",
    ]);
    // The E-step went out as a job array, its gather job after the array, the M-step after the gather.
    const sample = r.stdout.match(
      /em\[1\]\.sample: submitted as slurm job (\d+) \(shards: job array (\d+), 0-2\) after (\d+), (\d+)/,
    );
    assert(sample, r.stdout);
    assertEquals([sample[3], sample[4]], [jobs.obs, jobs["em[0].fit"]]);
    assertMatch(r.stdout, new RegExp(`em\\[1\\]\\.fit: submitted as slurm job \\d+ after ${sample[1]}\\n`));
    for (const s of [0, 1, 2]) assertMatch(r.stdout, new RegExp(`✓ em\\[1\\]\\.sample \\[shard ${s}\\]`));
    // The gather job found every shard done by the array.
    assertEquals(
      ((await show(dir, "em[1].sample")).metrics as { shards_gathered: number }).shards_gathered,
      3,
    );

    const fromSlurm = await outputs(`${dir}/store`);
    assertEquals([...fromSlurm.keys()], [...(await outputs(`${local}/store`)).keys()], "same entries (keys)");
    assertEquals([...fromSlurm], [...(await outputs(`${local}/store`))], "bit-identical outputs");
    assertEquals((await cli(dir, "verify")).code, 0);
    // Everything is cached now: a rerun submits nothing.
    const again = await cli(dir, "run", "--executor", "slurm");
    assertEquals(again.code, 0, again.stderr);
    assertEquals(submissions(again.stdout), {});
    assertMatch(again.stdout, /0 ran, 8 cached/);
  },
);

slurmTest(
  "a failing stage (and a failing shard) on Slurm: dependents cancelled, error and log tail shown, exit 1",
  async () => {
    const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source }
  bad: { task: fx-fail, inputs: { x: a }, params: { message: "the flux capacitor is empty" } }
  mine: { task: fx-fail, inputs: { x: a }, params: { message: "lower the rank", user: true, warn: "warning: few" } }
  after: { task: fx-scale, inputs: { x: bad } }
  later: { task: fx-scale, inputs: { x: after } }
  estep: { task: fx-sharded, inputs: { x: a }, params: { shards: 3, fail_shard: 1 } }
  mstep: { task: fx-scale, inputs: { x: estep } }
  other: { task: fx-scale, inputs: { x: a }, params: { sleep_ms: 1500 } }
`);
    const r = await cli(dir, "run", "--executor", "slurm");
    assertEquals(r.code, 1, r.stdout);
    const jobs = submissions(r.stdout);
    assertMatch(
      r.stderr,
      new RegExp(
        `stage bad failed: the flux capacitor is empty \\(slurm job ${jobs.bad} on \\S+; log \\S+\\.${jobs.bad}\\.err\\)`,
      ),
    );
    // A bug's log tail keeps its stack; a failure that is the user's doing is said once, its warning kept.
    assertMatch(r.stderr, /\| Error: the flux capacitor is empty\n\s+\|\s+at /, "the job's log tail");
    assertMatch(
      r.stderr,
      new RegExp(
        `stage mine failed: lower the rank \\(slurm job ${jobs.mine} on [^\\n]*\\)\\n {2}\\| warning: few\\n`,
      ),
    );
    assertEquals(r.stderr.match(/lower the rank/g)?.length, 1, r.stderr);
    assertMatch(r.stderr, /stage estep failed: shard 1 of 3: shard 1 refuses to run \(slurm job \d+_1 on /);
    assertMatch(r.stdout, /2 ran, 0 cached, 3 failed, 3 skipped/);
    assertMatch(r.stdout, /after: cancelled \(job \d+\): upstream stage bad failed/);
    // Slurm never ran the dependents: their jobs are cancelled.
    const states = await jobStates([jobs.after, jobs.later, jobs.mstep, jobs.estep]);
    assertEquals([states[jobs.after], states[jobs.later], states[jobs.mstep], states[jobs.estep]], [
      "CANCELLED",
      "CANCELLED",
      "CANCELLED",
      "CANCELLED",
    ]);
    const st = await statuses(dir);
    assertEquals([
      st.a.status,
      st.other.status,
      st.bad.status,
      st.mine.status,
      st.after.status,
      st.estep.status,
    ], [
      "cached",
      "cached",
      "missing",
      "missing",
      "missing",
      "missing",
    ]);
    assertEquals(await recordedJobs(`${dir}/store`), {}, "no job records left behind");
  },
);

slurmTest("after a failure, resubmitting submits only the stages missing from the store", async () => {
  const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 12 } }
  b: { task: fx-needs-file, inputs: { x: a }, params: { flag: fixed } }
  c: { task: fx-scale, inputs: { x: b } }
  d: { task: fx-sharded, inputs: { x: a }, params: { shards: 2 } }
`);
  const first = await cli(dir, "run", "--executor", "slurm");
  assertEquals(first.code, 1);
  assertMatch(first.stderr, /stage b failed: the file fixed is missing \(slurm job \d+/);
  assertEquals(Object.keys(submissions(first.stdout)).sort(), ["a", "b", "c", "d"]);
  await Deno.writeTextFile(`${dir}/fixed`, "");
  const second = await cli(dir, "run", "--executor", "slurm");
  assertEquals(second.code, 0, second.stderr);
  assertEquals(Object.keys(submissions(second.stdout)).sort(), ["b", "c"]);
  assertMatch(second.stdout, /done: 2 ran, 2 cached, 0 failed/);
});

slurmTest(
  "Ctrl-C cancels the jobs the run submitted (by id) and nothing else; the rerun resumes",
  async () => {
    const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 8 } }
  walk: { task: fx-steps, inputs: { x: a }, params: { steps: 60, every: 2, sleep_ms: 150 } }
  after: { task: fx-scale, inputs: { x: walk } }
`);
    // Somebody else's job on the same cluster: it must survive our Ctrl-C.
    const bystander = new TextDecoder().decode(
      (await new Deno.Command("sbatch", {
        args: ["--parsable", "--job-name=bystander", "--output=/dev/null", "--wrap=sleep 120"],
      }).output()).stdout,
    ).trim();
    try {
      const child = spawnCli(dir, "run", "--executor", "slurm");
      const out = new Response(child.stdout).text();
      const err = new Response(child.stderr).text();
      let ours: Record<string, string> = {};
      await until("the walk job to checkpoint", async () => {
        ours = await recordedJobs(`${dir}/store`);
        const ck = await snapshot(`${dir}/store/checkpoints`);
        return "after" in ours && [...ck.keys()].some((k) => /\/walk@\d+\//.test(k));
      });
      // A terminal's Ctrl-C: SIGINT to the run's process group, then the copy `deno task` forwards
      // (not a second Ctrl-C: the jobs must still be cancelled).
      await new Deno.Command("kill", { args: ["-INT", "--", `-${child.pid}`] }).output();
      await new Deno.Command("kill", { args: ["-INT", `${child.pid}`] }).output();
      const status = await child.status;
      const stdout = await out;
      assertEquals(status.code, 1, `${stdout}\n${await err}`);
      assertMatch(stdout, /interrupted: cancelling the Slurm jobs this run submitted/);
      assertMatch(stdout, /interrupted: .*2 cancelled/);
      const states = await jobStates([ours.walk, ours.after, bystander]);
      assertEquals(states[ours.walk], "CANCELLED");
      assertEquals(states[ours.after], "CANCELLED");
      assert(["PENDING", "RUNNING"].includes(states[bystander]), `the bystander job is ${states[bystander]}`);
      assertEquals(await recordedJobs(`${dir}/store`), {});
      assertEquals([...Deno.readDirSync(`${dir}/store/tmp`)].map((e) => e.name), [], "no partial entry");
      const again = await cli(dir, "run", "--executor", "slurm");
      assertEquals(again.code, 0, again.stderr);
      assertEquals(Object.keys(submissions(again.stdout)).sort(), ["after", "walk"]);
      assertMatch(again.stdout, /resuming from walk/);
    } finally {
      await new Deno.Command("scancel", { args: [bystander] }).output();
    }
  },
);

slurmTest(
  "--detach submits and returns; status shows the jobs; a later run waits for them and submits nothing twice",
  async () => {
    const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 8, sleep_ms: 4000 } }
  b: { task: fx-scale, inputs: { x: a } }
`);
    const t = performance.now();
    const d = await cli(dir, "run", "--executor", "slurm", "--detach");
    assertEquals(d.code, 0, d.stderr);
    assert(performance.now() - t < 4000, "--detach returns without waiting for the jobs");
    const jobs = submissions(d.stdout);
    assertMatch(d.stdout, /submitted: 0 ran, 0 cached, 0 failed, 2 on slurm/);
    assertEquals(Object.entries(await recordedJobs(`${dir}/store`)).sort(), Object.entries(jobs).sort());
    const st = await cli(dir, "status");
    assertMatch(
      st.stdout,
      new RegExp(
        `^a\\s+fx-source\\s+(queued|running)\\s+\\S+\\s+(queued|running) on slurm \\(job ${jobs.a}\\)`,
        "m",
      ),
    );
    assertMatch(
      st.stdout,
      new RegExp(`^b\\s+fx-scale\\s+queued\\s+\\S+\\s+queued on slurm \\(job ${jobs.b}\\)`, "m"),
    );
    const json = JSON.parse((await cli(dir, "status", "--json")).stdout);
    assertEquals(json.stages[1].slurm.job, jobs.b);
    // The store lock was released at submission: another run may start, and waits for the same jobs.
    const r = await cli(dir, "run", "--executor", "slurm");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(submissions(r.stdout), {}, "nothing submitted twice");
    assertMatch(r.stdout, new RegExp(`a: already on slurm as job ${jobs.a}`));
    assertMatch(r.stdout, /done: 2 ran, 0 cached, 0 failed/);
    const after = await statuses(dir);
    assertEquals([after.a.status, after.b.status], ["cached", "cached"]);
  },
);

slurmTest(
  "a job that cannot see the store fails saying the store must be on a filesystem every node sees",
  async () => {
    const dir = await scratch(`
store: store
plugins: [${FIXTURES}]
stages:
  a: { task: fx-source, params: { n: 8, sleep_ms: 2000 } }
  b: { task: fx-scale, inputs: { x: a } }
`);
    const child = spawnCli(dir, "run", "--executor", "slurm");
    const out = new Response(child.stdout).text();
    const err = new Response(child.stderr).text();
    // While a runs, the store "disappears" for later jobs (as on a node that does not mount it).
    await until("stage a to start in its job", async () => {
      const jobs = await recordedJobs(`${dir}/store`);
      if (!("a" in jobs)) return false;
      const log = [...Deno.readDirSync(`${dir}/store/logs`)].find((e) => e.name.endsWith(`.${jobs.a}.out`));
      return log !== undefined &&
        /"type":"start"/.test(await Deno.readTextFile(`${dir}/store/logs/${log.name}`));
    });
    await Deno.rename(`${dir}/store/STORE`, `${dir}/store/STORE.hidden`);
    const status = await child.status;
    await Deno.rename(`${dir}/store/STORE.hidden`, `${dir}/store/STORE`);
    const stderr = await err;
    assertEquals(status.code, 1, `${await out}\n${stderr}`);
    assertMatch(stderr, /stage b failed: ended FAILED with exit code 1 \(slurm job \d+ on \S+; log /);
    assertMatch(
      stderr,
      /\| store \S+\/store is not visible on \S+: the store must be on a filesystem every node sees/,
    );
  },
);

slurmTest(
  "a 2-seed sweep on Slurm: shared stages once, each member's E-step as its own job array",
  async () => {
    const swept = DIEM.replace("loop: { laps: 2, start: { fit: init } }", "$&\n    sweep: { seed: [0, 1] }")
      .replace('"em[*].fit"', '"em@*[*].fit"');
    const local = await scratch(swept);
    assertEquals((await cli(local, "run")).code, 0);
    const dir = await scratch(swept);
    const r = await cli(dir, "run", "--executor", "slurm");
    assertEquals(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assertMatch(r.stdout, /done: 12 ran, 0 cached, 0 failed/); // data, obs, init, 2 × 2 laps × 2, report
    const jobs = Object.keys(submissions(r.stdout));
    assertEquals(jobs.filter((id) => !id.includes("@")).sort(), ["data", "init", "obs", "report"]);
    for (const s of [0, 1]) {
      assertMatch(
        r.stdout,
        new RegExp(`em@seed=${s}\\[1\\]\\.sample: .*\\(shards: job array`),
      );
    }
    assertEquals(
      [...(await outputs(`${dir}/store`))],
      [...(await outputs(`${local}/store`))],
      "the local run's",
    );
  },
);

Deno.test({
  name: "stop the local Slurm cluster (by PID)",
  ignore: !ownCluster,
  sanitizeOps: false,
  sanitizeResources: false,
  fn() {
    stopCluster();
    const pids = (() => {
      try {
        return Deno.readTextFileSync(`${CLUSTER}/pids`);
      } catch {
        return "";
      }
    })();
    assertEquals(pids, "", "the pid file is gone once the daemons are stopped");
  },
});
