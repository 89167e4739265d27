/**
 * The platform's BLAS through Deno's FFI: found by a documented search list, loaded once per
 * isolate (the library itself once per process), with its thread count under our control.
 *
 * Search order (the first that loads wins):
 * 1. `DIEM_BLAS=off` (or `0`, `none`): no BLAS, the wasm kernels run as before;
 * 2. `DIEM_BLAS=/path/or/name.so`: exactly that library (failing to load it is an error);
 * 3. Linux: OpenBLAS `libopenblas.so.0` (Debian/Ubuntu `libopenblas0-pthread`, Fedora `openblas`),
 *    `libopenblas.so`, Intel MKL `libmkl_rt.so.2` / `libmkl_rt.so`, BLIS `libblis.so.4` / `libblis.so`;
 *    macOS: the Accelerate framework (always present).
 *
 * Threads: OpenBLAS, MKL and BLIS expose a setter; its setting is process-wide, while each Worker
 * (an isolate) wants its own share of the cores (cores / Workers). So every isolate keeps its wanted
 * count and sets it before each call when it differs from what it last set (a setter call costs
 * ~0.1 µs). Accelerate has no setter (`VECLIB_MAXIMUM_THREADS` before start-up governs it).
 *
 * @module
 */

/** C = alpha op(A) op(B) + beta C on row-major float32 buffers (`cblas_sgemm`'s arguments). */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/** A loaded BLAS: `sgemm` on row-major float32 buffers and its description. */
export interface Blas {
  /** Short description: vendor, version where known, file. */
  readonly name: string;
  /** C = alpha op(A) op(B) + beta C, row-major (`cblas_sgemm` with CblasRowMajor). */
  sgemm: Sgemm;
  /**
   * The same product in exactly one `cblas_sgemm` call, without {@link sgemm}'s fixed row blocks: for
   * callers that fix the call shapes themselves (lib/tensor/_conv_shifted.ts) or whose results need no
   * batch invariance (parameter gradients).
   */
  sgemmOneCall: Sgemm;
  /**
   * y = Aᵀ x for A [m, n] row-major with leading dimension lda (`cblas_sgemv`, transposed), on one
   * thread: the column sums of A when x is all ones (lib/tensor/_blas_reduce.ts).
   */
  sgemvT(m: number, n: number, a: Float32Array, lda: number, x: Float32Array, y: Float32Array): void;
  /** Threads this isolate's calls use (null where the library has no setter). */
  threads(): number | null;
  /** Set this isolate's thread count (≥ 1). */
  setThreads(n: number): void;
}

const symbols = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: ["i32", "i32", "i32", "i32", "f32", "buffer", "i32", "buffer", "i32", "f32", "buffer", "i32"],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
  MKL_Set_Num_Threads: { parameters: ["i32"], result: "void", optional: true },
  bli_thread_set_num_threads: { parameters: ["i64"], result: "void", optional: true },
} as const;

/** The libraries tried, in order, on this platform. */
export function blasSearchList(os: string = Deno.build.os): string[] {
  if (os === "darwin") return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  if (os === "windows") return ["libopenblas.dll", "mkl_rt.2.dll", "mkl_rt.dll"];
  return [
    "libopenblas.so.0",
    "libopenblas.so",
    "libmkl_rt.so.2",
    "libmkl_rt.so",
    "libblis.so.4",
    "libblis.so",
  ];
}

type Library = Deno.DynamicLibrary<typeof symbols>;

function open(path: string): Library {
  return Deno.dlopen(path, symbols);
}

/** OpenBLAS cores whose sgemm gives a row different bits by its position in the call (measured). */
const ROW_VARIANT_CORES = /^(haswell|zen)$/i;

/**
 * On x86-64 Linux CPUs with AVX-512, have a DYNAMIC_ARCH OpenBLAS use its SkylakeX kernels instead of
 * its Haswell/Zen ones (chosen by OpenBLAS 0.3.21 for AMD Zen 4/5, or named by `OPENBLAS_CORETYPE`):
 * the Haswell sgemm kernel gives a row different bits depending on its position in the call's block
 * (measured on a Zen CPU: 2–15 % of a 128-row product's entries change when its rows are rolled), which
 * breaks the samplers' batch and shard invariance; the SkylakeX kernels give every position the same
 * bits and run on any AVX-512 CPU. OpenBLAS reads the variable when it is loaded, so this runs before
 * the first `dlopen`. Returns a note when it replaced the user's setting, else "".
 */
function pinOpenBlasCore(): string {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return "";
  const set = Deno.env.get("OPENBLAS_CORETYPE");
  if (set && !ROW_VARIANT_CORES.test(set)) return "";
  let cpuinfo = "";
  try {
    cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  } catch {
    return ""; // no /proc: leave OpenBLAS's own choice
  }
  if (!/^flags\s*:.*\bavx512f\b/m.test(cpuinfo)) return "";
  Deno.env.set("OPENBLAS_CORETYPE", "SkylakeX");
  return set ? `; OPENBLAS_CORETYPE=${set} replaced by SkylakeX (row-invariant kernels)` : "";
}

/**
 * Whether a row's product is the same bits wherever it sits in a {@link ROW_BLOCK}-row call: one small
 * product, then again with its rows rolled by 37. Where it fails, sampling is not batch-invariant.
 */
function rowInvariant(blas: Blas): boolean {
  const [m, n, k, shift] = [ROW_BLOCK, 48, 64, 37];
  const a = new Float32Array(m * k), rolled = new Float32Array(m * k), b = new Float32Array(k * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 0.7311) * 1.3;
  for (let i = 0; i < b.length; i++) b[i] = Math.cos(i * 0.5173);
  for (let r = 0; r < m; r++) rolled.set(a.subarray(r * k, (r + 1) * k), ((r + shift) % m) * k);
  const c = new Float32Array(m * n), cr = new Float32Array(m * n);
  blas.sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n);
  blas.sgemm(false, false, m, n, k, 1, rolled, k, b, n, 0, cr, n);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) if (c[r * n + j] !== cr[((r + shift) % m) * n + j]) return false;
  }
  return true;
}

/** The load note of a found BLAS: its name, why its kernels were chosen, a warning when rows vary. */
function loadNote(blas: Blas, how: string, coreNote: string): string {
  const warning = rowInvariant(blas) ? "" : "; warning: this BLAS gives a row different bits by its " +
    "position in a product, so samples depend on batch size and Workers (DIEM_BLAS=off avoids it)";
  return `BLAS ${blas.name}${how}${coreNote}${warning}`;
}

function describe(lib: Library, path: string): string {
  const s = lib.symbols;
  if (s.openblas_get_config) {
    const ptr = s.openblas_get_config();
    const config = ptr ? Deno.UnsafePointerView.getCString(ptr) : "OpenBLAS";
    const core = s.openblas_get_corename?.();
    const kernels = core ? ` ${Deno.UnsafePointerView.getCString(core)}` : "";
    return `${config.split(" ").slice(0, 2).join(" ")}${kernels} (${path})`;
  }
  if (s.MKL_Set_Num_Threads) return `MKL (${path})`;
  if (s.bli_thread_set_num_threads) return `BLIS (${path})`;
  if (path.includes("Accelerate")) return "Accelerate";
  return path;
}

function wrap(lib: Library, path: string): Blas {
  const s = lib.symbols;
  const setter = s.openblas_set_num_threads ??
    s.MKL_Set_Num_Threads ??
    (s.bli_thread_set_num_threads ? (n: number) => s.bli_thread_set_num_threads!(BigInt(n)) : null);
  let wanted = Math.max(1, navigator.hardwareConcurrency ?? 1);
  return {
    name: describe(lib, path),
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      // Process-wide setting, isolate-local wish: cheap enough to set on every call.
      setter?.(wanted);
      const [ta, tb] = [transA ? 112 : 111, transB ? 112 : 111];
      const call = (rows: number, av: Float32Array, ldA: number, cv: Float32Array, ldC: number) =>
        s.cblas_sgemm(101, ta, tb, rows, n, k, alpha, av, ldA, b, ldb, beta, cv, ldC);
      if (transA) call(m, a, lda, c, ldc);
      else rowBlocked(m, n, k, a, lda, c, ldc, beta, call);
    },
    sgemmOneCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      // A small output (a filter gradient: Ci × Co) gains nothing from a second thread, and on a busy
      // machine the threads' synchronisation made these calls 4–7× slower. BLAS splits only the
      // output, never the inner dimension, so the result is the same either way.
      setter?.(m * n < SMALL_OUTPUT ? 1 : wanted);
      s.cblas_sgemm(
        101,
        transA ? 112 : 111,
        transB ? 112 : 111,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    },
    sgemvT(m, n, a, lda, x, y) {
      // Memory-bound: a second thread gains little and waits on a busy machine.
      setter?.(1);
      s.cblas_sgemv(101, 112, m, n, 1, a, lda, x, 1, 0, y, 1);
    },
    threads: () => (setter ? wanted : null),
    setThreads(n) {
      if (!(Number.isInteger(n) && n >= 1)) throw new Error(`BLAS threads must be an integer ≥ 1, got ${n}`);
      wanted = n;
    },
  };
}

/** Outputs (m · n) below which {@link Blas.sgemmOneCall} runs on one thread. */
const SMALL_OUTPUT = 128 * 128;

/**
 * Rows per GEMM call when A is not transposed. A BLAS picks its kernels (small-matrix paths, edge
 * kernels, thread splits) by the problem's shape, so a row's result could depend on how many rows
 * share its call; always calling with exactly this many rows (the last block zero-padded) makes
 * every output row a function of its own input row only, as the samplers' shard invariance
 * (docs/design.md §9) needs: the same rows give bit-identical results in any batch or Worker.
 */
const ROW_BLOCK = 128;
let padA = new Float32Array(0), padC = new Float32Array(0);

function rowBlocked(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  c: Float32Array,
  ldc: number,
  beta: number,
  call: (rows: number, a: Float32Array, lda: number, c: Float32Array, ldc: number) => void,
): void {
  const full = Math.floor(m / ROW_BLOCK) * ROW_BLOCK;
  for (let r = 0; r < full; r += ROW_BLOCK) {
    call(ROW_BLOCK, a.subarray(r * lda), lda, c.subarray(r * ldc), ldc);
  }
  const rest = m - full;
  if (rest === 0) return;
  if (padA.length < ROW_BLOCK * k) padA = new Float32Array(ROW_BLOCK * k);
  if (padC.length < ROW_BLOCK * n) padC = new Float32Array(ROW_BLOCK * n);
  padA.fill(0, 0, ROW_BLOCK * k);
  padC.fill(0, 0, ROW_BLOCK * n);
  for (let i = 0; i < rest; i++) {
    padA.set(a.subarray((full + i) * lda, (full + i) * lda + k), i * k);
    if (beta !== 0) padC.set(c.subarray((full + i) * ldc, (full + i) * ldc + n), i * n);
  }
  call(ROW_BLOCK, padA, k, padC, n);
  for (let i = 0; i < rest; i++) c.set(padC.subarray(i * n, (i + 1) * n), (full + i) * ldc);
}

let loaded: { blas: Blas | null; note: string } | null = null;

/**
 * The BLAS of this process per the search list and `DIEM_BLAS`, or null with a one-line note
 * saying why (turned off, none found). Loaded once per isolate.
 *
 * @example
 * ```ts
 * const { blas, note } = loadBlas();
 * console.error(blas ? `BLAS: ${blas.name}` : note);
 * ```
 */
export function loadBlas(): { blas: Blas | null; note: string } {
  if (loaded) return loaded;
  const setting = (Deno.env.get("DIEM_BLAS") ?? "").trim();
  if (/^(off|0|none|false)$/i.test(setting)) {
    return loaded = { blas: null, note: "BLAS off (DIEM_BLAS=off): wasm kernels" };
  }
  const coreNote = pinOpenBlasCore();
  if (setting) {
    try {
      const blas = wrap(open(setting), setting);
      return loaded = { blas, note: loadNote(blas, " (DIEM_BLAS)", coreNote) };
    } catch (e) {
      throw new Error(`DIEM_BLAS=${setting}: cannot load it as a CBLAS library: ${(e as Error).message}`);
    }
  }
  for (const path of blasSearchList()) {
    try {
      const blas = wrap(open(path), path);
      return loaded = { blas, note: loadNote(blas, "", coreNote) };
    } catch {
      // Not installed (or not a CBLAS): try the next.
    }
  }
  return loaded = {
    blas: null,
    note: `no BLAS found (tried ${blasSearchList().join(", ")}): wasm kernels; on Debian/Ubuntu ` +
      "`apt-get install libopenblas0-pthread` gives the fast path",
  };
}

let ones = new Float32Array(0);

/**
 * A vector of n ones (one buffer, grown as needed, shared: read it, never write it): the operand that
 * turns a column sum or a bias broadcast into a BLAS product.
 *
 * @example
 * ```ts
 * blas.sgemvT(rows, c, x, c, onesOf(rows), sums); // the column sums of x [rows, c]
 * ```
 */
export function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(n).fill(1);
  return ones.subarray(0, n);
}
