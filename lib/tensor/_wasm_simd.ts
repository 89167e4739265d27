/**
 * A minimal WebAssembly assembler for the project's own SIMD kernels, which run on the TF.js wasm
 * backend's heap: the module imports the backend's `WebAssembly.Memory` as `env.memory`, so a kernel reads
 * and writes tensors in place by their heap offsets (no copies; a heap that grows stays shared). A
 * function's body is written in the WebAssembly text format's instruction names, one flat sequence
 * ({@link func}), and assembled to the binary format by the few lines below. Functions take i32 parameters
 * (heap offsets in bytes, counts) and return nothing.
 *
 * Why our own: no native toolchain is assumed (clang, wat2wasm, binaryen), and the one on npm (`wabt`, an
 * Emscripten build of WABT) is a multi-megabyte module that every process would load to assemble a dozen
 * short functions; shipping prebuilt binaries would put an unreviewable blob beside its source. This covers
 * only the instructions the kernels use and rejects anything else at assembly.
 *
 * The instructions known are those the kernels use; an unknown one is an error at assembly. Besides the
 * standard ones, `f32x4.splat_const V` is `v128.const` with V in all four lanes, and `;;` starts a comment.
 *
 * @module
 */
import type { WasmBackendLike } from "./_blas_matmul.ts";

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const simd = (code: number) => [0xfd, ...uleb(code)];

/** Opcodes without immediates. */
const PLAIN: Record<string, number[]> = {
  end: [0x0b],
  "i32.add": [0x6a],
  "i32.mul": [0x6c],
  "i32.shl": [0x74],
  "i32.ge_u": [0x4f],
  "v128.and": simd(0x4e),
  "v128.andnot": simd(0x4f),
  "v128.bitselect": simd(0x52),
  "f32x4.gt": simd(0x44),
  "f32x4.abs": simd(0xe0),
  "f32x4.add": simd(0xe4),
  "f32x4.sub": simd(0xe5),
  "f32x4.mul": simd(0xe6),
  "f32x4.div": simd(0xe7),
  "f32x4.sqrt": simd(0xe3),
  "i32x4.shl": simd(0xab),
  "i32x4.shr_s": simd(0xac),
  "f64x2.add": simd(0xf0),
  "f64x2.mul": simd(0xf2),
  "f64x2.promote_low_f32x4": simd(0x5f),
};

/** Value types by name. */
const TYPES = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;

/** One function: named i32 parameters, named locals by type, and its body's bytes. */
export interface WasmFunction {
  params: number;
  locals: number[];
  body: number[];
}

/**
 * Assemble one function from its parameter names, its locals (names by type) and its body in the text
 * format's instruction names (`$name` for a local or parameter; `offset=N` after a load or store).
 *
 * @example
 * ```ts
 * const double = func(["x", "n"], { i32: ["i", "end"] }, `
 *   local.get $x  local.get $x  v128.load  local.get $x  v128.load  f32x4.add  v128.store`);
 * ```
 */
export function func(
  params: string[],
  locals: Partial<Record<keyof typeof TYPES, string[]>>,
  text: string,
): WasmFunction {
  const names = [...params];
  const types: number[] = [];
  for (const [type, list] of Object.entries(locals) as [keyof typeof TYPES, string[]][]) {
    for (const name of list) {
      names.push(name);
      types.push(TYPES[type]);
    }
  }
  const tokens = text.replace(/;;[^\n]*/g, " ").split(/\s+/).filter((t) => t);
  const body: number[] = [];
  const local = (token: string | undefined) => {
    const i = names.indexOf(token?.startsWith("$") ? token.slice(1) : "");
    if (i < 0) throw new Error(`wasm assembler: unknown local ${token}`);
    return uleb(i);
  };
  const offset = (i: number) => tokens[i + 1]?.startsWith("offset=") ? Number(tokens[i + 1].slice(7)) : null;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (PLAIN[t]) body.push(...PLAIN[t]);
    else if (t === "block" || t === "loop") body.push(t === "block" ? 0x02 : 0x03, 0x40);
    else if (t === "br" || t === "br_if") body.push(t === "br" ? 0x0c : 0x0d, ...uleb(Number(tokens[++i])));
    else if (t === "local.get" || t === "local.set" || t === "local.tee") {
      body.push({ "local.get": 0x20, "local.set": 0x21, "local.tee": 0x22 }[t], ...local(tokens[++i]));
    } else if (t === "i32.const") body.push(0x41, ...sleb(Number(tokens[++i])));
    else if (t === "v128.load" || t === "v128.store") {
      const o = offset(i);
      if (o !== null) i++;
      body.push(...simd(t === "v128.load" ? 0x00 : 0x0b), 4, ...uleb(o ?? 0));
    } else if (t === "f32x4.splat_const") {
      const lane = [...new Uint8Array(new Float32Array([Number(tokens[++i])]).buffer)];
      body.push(...simd(0x0c), ...lane, ...lane, ...lane, ...lane);
    } else if (t === "i8x16.shuffle") {
      body.push(...simd(0x0d), ...tokens.slice(i + 1, i + 17).map(Number));
      i += 16;
    } else throw new Error(`wasm assembler: unknown instruction ${t}`);
  }
  return { params: params.length, locals: types, body };
}

/** A shuffle that moves the upper two f32 lanes of its (twice pushed) operand to the lower two. */
export const HIGH_TO_LOW = "i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7";

/**
 * `for (i = start; i < end; i += step) body` over i32 locals (unsigned compare), as text: `start` and
 * `step` are code that pushes the value, `end` a local's name.
 *
 * @example
 * ```ts
 * forLoop("i", "i32.const 0", "end", "i32.const 16", "local.get $i  f32x4.splat_const 0  v128.store");
 * ```
 */
export function forLoop(i: string, start: string, end: string, step: string, body: string): string {
  return `${start}  local.set $${i}
    block  loop
      local.get $${i}  local.get $${end}  i32.ge_u  br_if 1
      ${body}
      local.get $${i}  ${step}  i32.add  local.set $${i}
      br 0
    end  end`;
}

/**
 * The loop over the values of one `[pixels, c]` image in channel quads (c divisible by 4), in the text
 * format: `zeroBytes` ≠ 0 first zeroes c · `zeroBytes` bytes of float64 sums at `$acc`; then for every pixel
 * (`$q` the byte offset of its first value) and every quad of it (`$ch` its byte offset in the pixel),
 * `$idx` = q + ch is set and `body` runs. Uses the i32 locals q, ch, end, cb (bytes per pixel), idx and,
 * with `zeroBytes`, a. The channel-wise kernels (GroupNorm, the gated residual) each wrap their body in it.
 *
 * @example
 * ```ts
 * // y[i] = x[i] · 2
 * channelQuads("local.get $y  local.get $idx  i32.add  local.get $x  local.get $idx  i32.add  v128.load  " +
 *   "local.get $x  local.get $idx  i32.add  v128.load  f32x4.add  v128.store");
 * ```
 */
export function channelQuads(body: string, zeroBytes = 0): string {
  const zero = zeroBytes === 0
    ? ""
    : `local.get $acc  local.get $c  i32.const ${Math.log2(zeroBytes)}  i32.shl
    i32.add  local.set $idx
    ${
      forLoop("a", "local.get $acc", "idx", "i32.const 16", "local.get $a  f32x4.splat_const 0  v128.store")
    }`;
  const quad = `local.get $q  local.get $ch  i32.add  local.set $idx\n    ${body}`;
  return `local.get $c  i32.const 2  i32.shl  local.set $cb  ;; bytes per pixel
    local.get $pixels  local.get $cb  i32.mul  local.set $end
    ${zero}
    ${
    forLoop(
      "q",
      "i32.const 0",
      "end",
      "local.get $cb",
      forLoop("ch", "i32.const 0", "cb", "i32.const 16", quad),
    )
  }`;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * The binary of a module that imports its memory as `env.memory` and exports `functions` by name.
 *
 * @example
 * ```ts
 * const bytes = assemble({ double });
 * const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
 * ```
 */
export function assemble(functions: Record<string, WasmFunction>): Uint8Array<ArrayBuffer> {
  const entries = Object.values(functions);
  const types = entries.map((f) => [0x60, ...uleb(f.params), ...Array(f.params).fill(TYPES.i32), 0]);
  // Memory import: limits without a maximum, at least 0 pages.
  const memory = [...name("env"), ...name("memory"), 0x02, 0x00, 0x00];
  const exports = Object.keys(functions).map((n, i) => [...name(n), 0x00, ...uleb(i)]);
  const bodies = entries.map((f) => {
    const code = [...vector(f.locals.map((t) => [1, t])), ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
    ...section(1, vector(types)),
    ...section(2, vector([memory])),
    ...section(3, vector(entries.map((_, i) => uleb(i)))),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}

/**
 * A lookup of `functions`' exports bound to a wasm backend's heap: the module is assembled once (on the first
 * lookup) and instantiated once per heap memory; null where the backend's memory is not reachable (then the
 * kernels keep their scalar loops).
 *
 * @example
 * ```ts
 * const doubleOn = heapFunctions<{ double(x: number, n: number): void }>(() => ({ double }));
 * doubleOn(backend)?.double(offset, 64);
 * ```
 */
export function heapFunctions<T>(
  functions: () => Record<string, WasmFunction>,
): (backend: WasmBackendLike) => T | null {
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  const instances = new WeakMap<WebAssembly.Memory, T>();
  return (backend) => {
    const memory = (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) return null;
    let exports = instances.get(memory);
    if (!exports) {
      bytes ??= assemble(functions());
      exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as T;
      instances.set(memory, exports);
    }
    return exports;
  };
}
