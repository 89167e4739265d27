/**
 * Both kernel paths in one run: tests/tensor_kernels.test.ts again in a subprocess with
 * `DIEM_BLAS=off` (the wasm kernels; this file's own process uses a BLAS where one is installed),
 * the search list per platform, a `DIEM_BLAS` naming a library that does not exist is an error that
 * names it, a Worker pool gives each Worker its share of the BLAS threads, and an AVX-512 OpenBLAS
 * runs its row-invariant SkylakeX kernels.
 */
import { assert, assertMatch } from "./assert.ts";
import { blasSearchList } from "../lib/tensor/_blas.ts";
import { initBackend } from "../lib/tensor/mod.ts";
import { runInWorkers } from "./tensor_assert.ts";
import { workerJobs } from "./tensor_pool_shards.ts";

const deno = Deno.execPath();

async function run(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(deno, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("the kernel tests pass with the BLAS turned off (DIEM_BLAS=off)", async () => {
  const r = await run(["test", "-A", new URL("./tensor_kernels.test.ts", import.meta.url).pathname], {
    DIEM_BLAS: "off",
    NO_COLOR: "1",
  });
  assert(r.code === 0, r.text);
  assertMatch(r.text, /the wasm backend uses a BLAS unless DIEM_BLAS=off \.\.\. ok/);
});

Deno.test("DIEM_BLAS naming a missing library is an error that names it", async () => {
  const script = `import { initBackend } from "${new URL("../lib/tensor/mod.ts", import.meta.url).href}";
await initBackend("wasm");`;
  const r = await run(["eval", script], { DIEM_BLAS: "/nonexistent/libnothing.so", NO_COLOR: "1" });
  assert(r.code !== 0, r.text);
  assertMatch(r.text, /DIEM_BLAS=\/nonexistent\/libnothing\.so: cannot load it as a CBLAS library/);
});

Deno.test("the BLAS search list: OpenBLAS, MKL, BLIS on Linux; Accelerate on macOS", () => {
  const linux = blasSearchList("linux");
  assert(linux[0] === "libopenblas.so.0", linux.join());
  assert(linux.some((p) => p.includes("mkl_rt")) && linux.some((p) => p.includes("blis")), linux.join());
  assertMatch(blasSearchList("darwin")[0], /Accelerate\.framework/);
});

Deno.test("Workers get cores / Workers BLAS threads each", async () => {
  const info = await initBackend("wasm");
  if (!info.blas) return; // no BLAS here: nothing to share (the fallback is tested above)
  const cores = navigator.hardwareConcurrency ?? 1;
  const threads = await runInWorkers(workerJobs.blasThreads, [0, 1], { workers: 2 });
  for (const t of threads) assert(t === Math.max(1, Math.floor(cores / 2)), `worker BLAS threads ${t}`);
});

Deno.test("an AVX-512 OpenBLAS told to use its Haswell kernels gets SkylakeX ones, whose rows do not vary by position", async () => {
  const script = `import { loadBlas } from "${new URL("../lib/tensor/_blas.ts", import.meta.url).href}";
const { blas, note } = loadBlas();
console.log(JSON.stringify({ found: blas !== null, note, core: Deno.env.get("OPENBLAS_CORETYPE") ?? null }));`;
  const r = await run(["eval", script], { OPENBLAS_CORETYPE: "Haswell", NO_COLOR: "1" });
  assert(r.code === 0, r.text);
  const { found, note, core } = JSON.parse(r.text.trim().split("\n").at(-1)!);
  if (!found || !note.includes("OpenBLAS")) return; // no OpenBLAS here: nothing to pin
  const avx512 = Deno.build.os === "linux" &&
    /^flags\s*:.*\bavx512f\b/m.test(await Deno.readTextFile("/proc/cpuinfo"));
  if (avx512) {
    assert(core === "SkylakeX", `OPENBLAS_CORETYPE ${core}`);
    assertMatch(note, /OPENBLAS_CORETYPE=Haswell replaced by SkylakeX/);
    assert(!note.includes("warning"), note);
  } else {
    // Without AVX-512 the user's kernels stay, and the load note says whether rows vary by position.
    assert(core === "Haswell", `OPENBLAS_CORETYPE ${core}`);
  }
});
