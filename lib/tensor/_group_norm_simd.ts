/**
 * The per-value passes of the GroupNorm kernels (lib/tensor/_group_norm.ts) as WebAssembly SIMD
 * functions on the wasm backend's heap (assembled by lib/tensor/_wasm_simd.ts), for channel counts
 * divisible by 4: four channels per f32x4, sums in float64 (f64x2). One call covers one image (its pixels ×
 * C values, NHWC); the per-channel coefficients of that image are in a heap scratch laid out per quad of
 * channels (coefficient j of quad q is the f32x4 at (q·J + j)·16 bytes), and so are the float64 sums (four
 * f64x2 per quad: the first sum's lanes 0–1, 2–3, then the second's). In JavaScript these loops ran scalar
 * (V8 does not vectorise them).
 *
 * - `sums(x, pixels, c, acc)`: per channel Σ x and Σ x²;
 * - `affine(x, y, pixels, c, coef)`: y = (x − μ) · mul + add (J = 3: μ, mul, add);
 * - `affineSilu(x, y, sg, pixels, c, coef)`: z as `affine`'s y, sg = σ(z), y = z σ(z);
 * - `gradSums(x, dy, dz, pixels, c, coef, acc)`: dz = dy, and per channel Σ dz and Σ dz (x − μ);
 * - `siluGradSums(x, dy, sg, dz, pixels, c, coef, acc)`: the same with dz = dy σ (1 + z (1 − σ)), z as in
 *   `affine`;
 * - `gradInput(dz, x, dx, pixels, c, coef)`: dx = dz · kDz + (x − μ) · kX + k0 (J = 4: μ, kDz, kX, k0).
 *
 * σ(z) from e^−|z| = 2^n (1 + r q(r)), n = round(−|z| log₂e), r = −|z| − n ln 2 (|r| ≤ ln 2 / 2, ln 2 in
 * two parts), q the Taylor polynomial of degree 5 (e^r to degree 6: < 1.3e-7 relative), then f = e / (1 + e)
 * and σ = f for z < 0, 1 − f otherwise; e^−|z| is 0 beyond |z| = 87 (σ = 0 or 1 in float32 there).
 *
 * @module
 */
import { channelQuads, func, heapFunctions, HIGH_TO_LOW, type WasmFunction } from "./_wasm_simd.ts";

/** The exported functions (heap offsets in bytes, counts). */
export interface GroupNormSimd {
  sums(x: number, pixels: number, c: number, acc: number): void;
  affine(x: number, y: number, pixels: number, c: number, coef: number): void;
  affineSilu(x: number, y: number, sg: number, pixels: number, c: number, coef: number): void;
  gradSums(x: number, dy: number, dz: number, pixels: number, c: number, coef: number, acc: number): void;
  siluGradSums(
    x: number,
    dy: number,
    sg: number,
    dz: number,
    pixels: number,
    c: number,
    coef: number,
    acc: number,
  ): void;
  gradInput(dz: number, x: number, dx: number, pixels: number, c: number, coef: number): void;
}

/** The i32 locals of {@link perValue}. */
const LOOP_LOCALS = ["q", "ch", "end", "cb", "idx", "k", "a"];

/**
 * Every function's loop over one image ({@link channelQuads}): `k` = coef + ch·J (the quad's coefficients)
 * and, with `sums`, `a` = acc + ch·4 (its float64 sums, zeroed first) are set before `body`. `prelude` runs
 * once first (constants into locals).
 */
function perValue(coefficients: number, sums: boolean, body: string, prelude = ""): string {
  const quad = `
    local.get $coef  local.get $ch  i32.const ${coefficients}  i32.mul  i32.add  local.set $k
    ${sums ? "local.get $acc  local.get $ch  i32.const 2  i32.shl  i32.add  local.set $a" : ""}
    ${body}`;
  return `${prelude}
    ${channelQuads(quad, sums ? 16 : 0)}`;
}

/** Push the f32x4 at heap offset `base` + idx. */
const at = (base: string) => `local.get $${base}  local.get $idx  i32.add  v128.load`;

/** The f64x2 pair at a + offset (lanes 0–1, then 2–3 at + 16) += the f32x4 in local `v`, promoted. */
const accumulate = (offset: number, v: string) => `
  local.get $a  local.get $a  v128.load offset=${offset}
  local.get $${v}  f64x2.promote_low_f32x4  f64x2.add  v128.store offset=${offset}
  local.get $a  local.get $a  v128.load offset=${offset + 16}
  local.get $${v}  local.get $${v}  ${HIGH_TO_LOW}  f64x2.promote_low_f32x4  f64x2.add  v128.store offset=${
  offset + 16
}`;

/** xc = x − μ, z = xc · mul + add (coefficients 0, 1, 2 of the quad at k). */
const CENTRED_AFFINE = `
  ${at("x")}  local.get $k  v128.load  f32x4.sub  local.tee $xc
  local.get $k  v128.load offset=16  f32x4.mul  local.get $k  v128.load offset=32  f32x4.add  local.set $z`;

/**
 * 1.5 · 2²³ + 127: adding it to a float32 of magnitude < 2²² rounds it to an integer n and leaves n + 127
 * (the exponent field of 2^n) in the low mantissa bits.
 */
const ROUNDER = 12582912 + 127;

/** The constants {@link SIGMOID} reads, set once into locals (V8 rebuilds a v128.const at every use). */
const SIGMOID_CONSTANTS: [string, number][] = [
  ["minusLog2e", -Math.LOG2E],
  ["rounder", ROUNDER],
  ["minusLn2Hi", -0.693145751953125], // exact in float32
  ["minusLn2Lo", -1.428606765330187e-6],
  ["one", 1],
  ["cutoff", 87], // 2^n stays a normal number up to |z| = 87.6
  ["c5", 1 / 720],
  ["c4", 1 / 120],
  ["c3", 1 / 24],
  ["c2", 1 / 6],
  ["c1", 1 / 2],
];
const SIGMOID_PRELUDE = SIGMOID_CONSTANTS.map(([n, v]) => `f32x4.splat_const ${v}  local.set $${n}`).join(
  "\n",
);

/** s = σ(z), with temporaries t, n, j. */
const SIGMOID = `
  ;; t = |z|; j = −t log₂e + ROUNDER; n = j − ROUNDER
  local.get $z  f32x4.abs  local.tee $t  local.get $minusLog2e  f32x4.mul  local.get $rounder  f32x4.add
  local.tee $j  local.get $rounder  f32x4.sub  local.set $n
  ;; n = r = (n · −ln2hi − t) + n · −ln2lo
  local.get $n  local.get $minusLn2Hi  f32x4.mul  local.get $t  f32x4.sub
  local.get $n  local.get $minusLn2Lo  f32x4.mul  f32x4.add  local.set $n
  ;; q(r) = 1 + r/2 + … + r⁵/720 (Horner), then e = 2^n + (2^n · r) · q, 2^n = j << 23
  local.get $c5
  local.get $n  f32x4.mul  local.get $c4  f32x4.add
  local.get $n  f32x4.mul  local.get $c3  f32x4.add
  local.get $n  f32x4.mul  local.get $c2  f32x4.add
  local.get $n  f32x4.mul  local.get $c1  f32x4.add
  local.get $n  f32x4.mul  local.get $one  f32x4.add
  local.get $n  f32x4.mul  local.get $j  i32.const 23  i32x4.shl  local.tee $j  f32x4.mul
  local.get $j  f32x4.add  local.set $n
  ;; f = e / (1 + e), 0 where t > cutoff; s = z < 0 ? f : 1 − f (the sign bit as the mask)
  local.get $n  local.get $one  local.get $n  f32x4.add  f32x4.div
  local.get $t  local.get $cutoff  f32x4.gt  v128.andnot  local.tee $n
  local.get $one  local.get $n  f32x4.sub  local.get $z  i32.const 31  i32x4.shr_s  v128.bitselect  local.set $s`;

const SUM_PARAMS = ["pixels", "c", "coef", "acc"];

const SUMS = `
  ${at("x")}  local.set $v
  ${accumulate(0, "v")}
  ;; Σx² from the promoted halves (x² in float32 would round)
  local.get $a  local.get $a  v128.load offset=32
  local.get $v  f64x2.promote_low_f32x4  local.tee $sq  local.get $sq  f64x2.mul  f64x2.add  v128.store offset=32
  local.get $a  local.get $a  v128.load offset=48
  local.get $v  local.get $v  ${HIGH_TO_LOW}  f64x2.promote_low_f32x4  local.tee $sq  local.get $sq  f64x2.mul
  f64x2.add  v128.store offset=48`;

function sums(): WasmFunction {
  return func(
    ["x", "pixels", "c", "acc"],
    { i32: [...LOOP_LOCALS, "coef"], v128: ["v", "sq"] },
    perValue(0, true, SUMS),
  );
}

function affine(silu: boolean): WasmFunction {
  const params = silu ? ["x", "y", "sg", "pixels", "c", "coef"] : ["x", "y", "pixels", "c", "coef"];
  const v128 = ["xc", "z", "s", "t", "n", "j", ...(silu ? SIGMOID_CONSTANTS.map(([n]) => n) : [])];
  const store = silu
    ? `${SIGMOID}
      local.get $sg  local.get $idx  i32.add  local.get $s  v128.store
      local.get $y  local.get $idx  i32.add  local.get $z  local.get $s  f32x4.mul  v128.store`
    : "local.get $y  local.get $idx  i32.add  local.get $z  v128.store";
  const body = perValue(3, false, `${CENTRED_AFFINE}  ${store}`, silu ? SIGMOID_PRELUDE : "");
  return func(params, { i32: LOOP_LOCALS, v128 }, body);
}

/** dz into its output, and its two sums; `grad` sets xc = x − μ and d = dz. */
const GRAD_SUMS = (grad: string) => `
  ${grad}
  local.get $dz  local.get $idx  i32.add  local.get $d  v128.store
  ${accumulate(0, "d")}
  local.get $d  local.get $xc  f32x4.mul  local.set $dxc
  ${accumulate(32, "dxc")}`;

function gradSums(silu: boolean): WasmFunction {
  const params = silu ? ["x", "dy", "sg", "dz", ...SUM_PARAMS] : ["x", "dy", "dz", ...SUM_PARAMS];
  const grad = silu
    ? `${CENTRED_AFFINE}
      ;; d = dy σ (1 + z (1 − σ))
      ${at("sg")}  local.set $s
      ${at("dy")}  local.get $s  f32x4.mul
      f32x4.splat_const 1  local.get $z  f32x4.splat_const 1  local.get $s  f32x4.sub  f32x4.mul  f32x4.add
      f32x4.mul  local.set $d`
    : `${at("x")}  local.get $k  v128.load  f32x4.sub  local.set $xc
      ${at("dy")}  local.set $d`;
  return func(
    params,
    { i32: LOOP_LOCALS, v128: ["xc", "z", "s", "d", "dxc"] },
    perValue(3, true, GRAD_SUMS(grad)),
  );
}

const GRAD_INPUT = `
  local.get $dx  local.get $idx  i32.add
  ${at("dz")}  local.get $k  v128.load offset=16  f32x4.mul
  ${at("x")}  local.get $k  v128.load  f32x4.sub  local.get $k  v128.load offset=32  f32x4.mul  f32x4.add
  local.get $k  v128.load offset=48  f32x4.add
  v128.store`;

function gradInput(): WasmFunction {
  return func(["dz", "x", "dx", "pixels", "c", "coef"], { i32: LOOP_LOCALS }, perValue(4, false, GRAD_INPUT));
}

/**
 * The SIMD functions on a wasm backend's heap (instantiated once per heap memory), or null where its memory
 * is not reachable.
 *
 * @example
 * ```ts
 * const simd = groupNormSimd(backend);
 * simd?.sums(xOffset, 784, 32, accOffset);
 * ```
 */
export const groupNormSimd = heapFunctions<GroupNormSimd>(() => ({
  sums: sums(),
  affine: affine(false),
  affineSilu: affine(true),
  gradSums: gradSums(false),
  siluGradSums: gradSums(true),
  gradInput: gradInput(),
}));
