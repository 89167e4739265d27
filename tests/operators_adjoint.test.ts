/**
 * Operators: adjoint identity ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ (host float64 to 1e-12 relative, TF float32 to
 * 1e-5 relative), TF kernels against the float64 host reference (max abs 1e-5), dense rows against
 * applyHost (1e-12), corrupt's noise std (3 % relative on ≥ 20 000 draws), sharding invariance
 * (bit-exact), registry validation.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng } from "../lib/random.ts";
import { type NDArray, numel, sliceRows } from "../lib/array.ts";
import {
  blurOperator,
  boxOperator,
  fourierOperator,
  maskOperator,
  observedEntries,
  type OperatorFamily,
  operatorFamily,
  projectionOperator,
} from "../lib/operators/mod.ts";

await initBackend("cpu");

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
function assertClose(a: number, b: number, rtol: number, atol: number, msg: string): void {
  assert(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${msg}: ${a} vs ${b} (rtol ${rtol}, atol ${atol})`);
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
function randn(shape: number[], seed: number): NDArray<Float64Array> {
  const rng = Rng.fromSeed(seed, "test");
  const data = new Float64Array(numel(shape));
  rng.fillNormal(data);
  return { shape, data };
}

interface Case {
  name: string;
  family: OperatorFamily;
  /** Keep probability of a mask operator. */
  keep?: number;
}

const cases: Case[] = [
  { name: "projection D=5 m=2", family: projectionOperator({ xShape: [5], m: 2 }) },
  { name: "projection [3,4] m=7", family: projectionOperator({ xShape: [3, 4], m: 7 }) },
  { name: "mask [5]", family: maskOperator({ xShape: [5], keep: 0.5 }), keep: 0.5 },
  { name: "mask [4,4,2]", family: maskOperator({ xShape: [4, 4, 2], keep: 0.3 }), keep: 0.3 },
  // Non-symmetric kernels: a symmetric kernel would hide a missing flip in the adjoint.
  {
    name: "blur 1-D asymmetric",
    family: blurOperator({ xShape: [11], kernel: [0.1, 0.5, 0.2, 0.15, 0.05] }),
  },
  {
    name: "blur [6,5,3] asymmetric",
    family: blurOperator({ xShape: [6, 5, 3], kernel: [1, 2, 0, -1, 3, 0.5, 0.25, 4, -2] }),
  },
  { name: "blur gaussian [8,8]", family: blurOperator({ xShape: [8, 8], width: 1 }) },
  {
    name: "blur gaussian [9,7,1] via registry",
    family: operatorFamily("blur", { xShape: [9, 7, 1], width: 0.8 }),
  },
  { name: "box [7,6,2] 3×2", family: boxOperator({ xShape: [7, 6, 2], height: 3, width: 2 }) },
  { name: "box [8,8,1] default via registry", family: operatorFamily("box", { xShape: [8, 8, 1] }) },
  // Odd and even sizes: the DFT's self-conjugate frequencies differ.
  { name: "fourier [6,5,2] per image", family: fourierOperator({ xShape: [6, 5, 2], acceleration: 2 }) },
  {
    name: "fourier [8,8,1] shared via registry",
    family: operatorFamily("fourier", { xShape: [8, 8, 1], acceleration: 4, center: 0.25, shared: true }),
  },
  { name: "fourier [5,4] per image", family: fourierOperator({ xShape: [5, 4], acceleration: 1.5 }) },
];

const B = 6;

for (const { name, family } of cases) {
  Deno.test(`operators: ${name}: adjoint identity and TF vs host`, () => {
    const x = randn([B, ...family.xShape], 1);
    const { params } = family.corrupt(x, 11, 0.1);
    const y = randn([B, ...family.yShape], 2);

    // Host float64 adjoint identity, per row and in total.
    const ax = family.applyHost(x, params);
    const aty = family.adjointHost(y, params);
    assertClose(dot(ax.data, y.data), dot(x.data, aty.data), 1e-12, 1e-12, "host <Ax,y> = <x,A^T y>");

    // TF float32 kernels against the host reference, and the identity in float32.
    const bound = family.bind(params);
    const xt = tf.tensor(Float32Array.from(x.data), x.shape);
    const yt = tf.tensor(Float32Array.from(y.data), y.shape);
    const axT = bound.apply(xt);
    const atyT = bound.adjoint(yt);
    assert(axT.shape.join() === [B, ...family.yShape].join(), `apply shape ${axT.shape}`);
    assert(atyT.shape.join() === [B, ...family.xShape].join(), `adjoint shape ${atyT.shape}`);
    const axD = axT.dataSync(), atyD = atyT.dataSync();
    const scale = Math.max(1, ...Array.from(ax.data, Math.abs));
    for (let i = 0; i < axD.length; i++) {
      assertClose(axD[i], ax.data[i], 0, 1e-5 * scale, `${name} apply[${i}]`);
    }
    for (let i = 0; i < atyD.length; i++) {
      assertClose(atyD[i], aty.data[i], 0, 1e-5 * scale, `${name} adjoint[${i}]`);
    }
    const lhs = tf.sum(tf.mul(axT, yt)).dataSync()[0];
    const rhs = tf.sum(tf.mul(xt, atyT)).dataSync()[0];
    assertClose(lhs, rhs, 1e-5, 1e-5, "TF <Ax,y> = <x,A^T y>");
    tf.dispose([xt, yt, axT, atyT]);
    bound.dispose();

    // Dense informative rows reproduce applyHost on each observation.
    const d = numel(family.xShape);
    for (let r = 0; r < B; r++) {
      const rows = family.denseRows(params, r);
      const yr = ax.data.subarray(r * numel(family.yShape), (r + 1) * numel(family.yShape));
      for (let i = 0; i < rows.rows; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += rows.a[i * d + j] * x.data[r * d + j];
        assertClose(s, yr[rows.yIndex[i]], 1e-12, 1e-12, `${name} dense row ${i} of obs ${r}`);
      }
    }
  });
}

for (const { name, family, keep } of cases) {
  Deno.test(`operators: ${name}: corrupt noise std and sharding invariance`, () => {
    const n = Math.ceil(20000 / numel(family.yShape)) + 1;
    const sigma = 0.3;
    const x = { shape: [n, ...family.xShape], data: new Float32Array(n * numel(family.xShape)) };
    const { y, params } = family.corrupt(x, 5, sigma);
    family.validateParams(params, n);
    // x = 0, so y is pure noise; masked entries are exactly 0 and excluded.
    let s2 = 0, count = 0;
    const mask = observedEntries(family, params, n);
    for (let i = 0; i < y.data.length; i++) {
      if (mask && !mask[i]) {
        assert(y.data[i] === 0, "masked entries of y must be 0");
        continue;
      }
      s2 += y.data[i] * y.data[i];
      count++;
    }
    assert(count > 5000, `too few observed entries (${count})`);
    assertClose(Math.sqrt(s2 / count), sigma, 0.03, 0, `${name} noise std`);
    if (keep !== undefined) assertClose(count / y.data.length, keep, 0.05, 0, `${name} keep fraction`);

    // Sharding invariance: rows [0, k) and [k, n) corrupted separately equal the whole.
    const xs = randn([20, ...family.xShape], 3);
    const whole = family.corrupt(xs, 9, 0.1);
    const a = family.corrupt(sliceRows(xs, 0, 7), 9, 0.1, 0);
    const b = family.corrupt(sliceRows(xs, 7, 20), 9, 0.1, 7);
    const ylen = numel(family.yShape);
    for (let i = 0; i < 20 * ylen; i++) {
      const v = i < 7 * ylen ? a.y.data[i] : b.y.data[i - 7 * ylen];
      assert(v === whole.y.data[i], `${name}: sharded corrupt differs at ${i}`);
    }
    for (const key of family.perObservation) {
      const wp = whole.params[key].data, ap = a.params[key].data, bp = b.params[key].data;
      for (let i = 0; i < wp.length; i++) {
        const v = i < ap.length ? ap[i] : bp[i - ap.length];
        assert(v === wp[i], `${name}: sharded params "${key}" differ at ${i}`);
      }
    }
  });
}

Deno.test("operators: projection rows have unit norm; slicing params", () => {
  const op = projectionOperator({ xShape: [5], m: 3 });
  const x = randn([50, 5], 4);
  const { params } = op.corrupt(x, 1, 0.01);
  const m = params.matrices.data;
  for (let r = 0; r < 150; r++) {
    let s = 0;
    for (let j = 0; j < 5; j++) s += m[r * 5 + j] ** 2;
    assertClose(Math.sqrt(s), 1, 1e-6, 0, `row ${r} norm`);
  }
  const sliced = op.sliceParams(params, 10, 20);
  assert(sliced.matrices.shape.join() === "10,3,5", "sliced shape");
  assert(sliced.matrices.data[0] === m[10 * 15], "sliced content");
});

Deno.test("operators: registry and validation errors name the problem", () => {
  const expectThrow = (f: () => unknown, re: RegExp) => {
    try {
      f();
    } catch (e) {
      assert(re.test((e as Error).message), `message "${(e as Error).message}" does not match ${re}`);
      return;
    }
    throw new Error(`expected an error matching ${re}`);
  };
  expectThrow(() => operatorFamily("fft", { xShape: [5] }), /unknown operator kind "fft"/);
  expectThrow(() => operatorFamily("mask", { xShape: [5], keep: 2 }), /keep/);
  expectThrow(() => operatorFamily("blur", { xShape: [5], size: 4 }), /odd/);
  const op = operatorFamily("projection", { xShape: [5], m: 2 });
  expectThrow(() => op.validateParams({}, 3), /"matrices" is missing/);
  const bad = { matrices: { shape: [3, 2, 5], data: new Float32Array(30) } };
  bad.matrices.data[17] = NaN;
  expectThrow(() => op.validateParams(bad, 3), /"matrices".*index \[1, 1, 2\]/);
  expectThrow(() => op.validateParams(bad, 4), /shape \[3,2,5\], expected \[4, 2, 5\]/);
  const mk = maskOperator({ xShape: [2], keep: 0.5 });
  expectThrow(
    () => mk.validateParams({ mask: { shape: [1, 2], data: Uint8Array.of(1, 3) } }, 1),
    /binary.*\[0, 1\]/,
  );
});
