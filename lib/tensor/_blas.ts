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

function describe(lib: Library, path: string): string {
  const s = lib.symbols;
  if (s.openblas_get_config) {
    const ptr = s.openblas_get_config();
    const config = ptr ? Deno.UnsafePointerView.getCString(ptr) : "OpenBLAS";
    return `${config.split(" ").slice(0, 2).join(" ")} (${path})`;
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
  if (setting) {
    try {
      const blas = wrap(open(setting), setting);
      return loaded = { blas, note: `BLAS ${blas.name} (DIEM_BLAS)` };
    } catch (e) {
      throw new Error(`DIEM_BLAS=${setting}: cannot load it as a CBLAS library: ${(e as Error).message}`);
    }
  }
  for (const path of blasSearchList()) {
    try {
      const blas = wrap(open(path), path);
      return loaded = { blas, note: `BLAS ${blas.name}` };
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
