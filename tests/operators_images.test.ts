/**
 * Operators on images, exact answers: the matrix-product 2-D DFT (host float64 and TF float32) against a naive
 * O(N²) DFT, Parseval and inversion; `normal()` (AᵀA = Q diag(w) Qᵀ) against dense AᵀA built from `denseRows`
 * for mask, box and fourier (per image and shared); the fourier centre band and acceleration; one mask draw per
 * pixel shared across channels (vectors and single-channel images draw exactly as before); the box geometry.
 * Adjoint identities, TF vs host and noise statistics of box and fourier are in operators_adjoint.test.ts.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { Rng, RowStreams } from "../lib/random.ts";
import { type NDArray, numel } from "../lib/array.ts";
import {
  boxOperator,
  fourierOperator,
  maskOperator,
  type OperatorFamily,
  operatorFamily,
} from "../lib/operators/mod.ts";
import { dft2Host, DftTf } from "../lib/operators/_dft.ts";
import { assert, assertClose, assertNear } from "./tensor_assert.ts";

await initBackend("cpu");

function randn(shape: number[], seed: number): NDArray<Float64Array> {
  const data = new Float64Array(numel(shape));
  Rng.fromSeed(seed, "images-test").fillNormal(data);
  return { shape, data };
}

/** The naive 2-D DFT of one channel: X[k, l] = Σ_{j, m} x[j, m] e^{−2πi(kj/H + lm/W)} / √(HW). */
function naiveDft(
  x: Float64Array,
  h: number,
  w: number,
  c: number,
  ch: number,
): { re: number[]; im: number[] } {
  const re: number[] = [], im: number[] = [];
  for (let k = 0; k < h; k++) {
    for (let l = 0; l < w; l++) {
      let ar = 0, ai = 0;
      for (let j = 0; j < h; j++) {
        for (let m = 0; m < w; m++) {
          const angle = -2 * Math.PI * (k * j / h + l * m / w);
          ar += x[(j * w + m) * c + ch] * Math.cos(angle);
          ai += x[(j * w + m) * c + ch] * Math.sin(angle);
        }
      }
      re.push(ar / Math.sqrt(h * w));
      im.push(ai / Math.sqrt(h * w));
    }
  }
  return { re, im };
}

/** Channel `ch` of an `[H, W, C]` array, as a list. */
function channel(a: ArrayLike<number>, c: number, ch: number): number[] {
  return Array.from(a).filter((_, i) => i % c === ch);
}

for (const [h, w, c] of [[6, 5, 2], [8, 8, 1], [7, 4, 3]]) {
  Deno.test(`DFT [${h},${w},${c}]: matrix products (host, TF) equal the naive DFT; Parseval; inverse`, () => {
    const x = randn([h, w, c], h * 100 + w);
    const d = h * w * c;
    const host = dft2Host({ re: x.data, im: new Float64Array(d) }, h, w, c, false);
    const dft = new DftTf(h, w);
    const [reT, imT] = dft.forward(tf.tensor4d(Float32Array.from(x.data), [1, h, w, c]));
    const reF = reT.dataSync(), imF = imT.dataSync();
    for (let ch = 0; ch < c; ch++) {
      const naive = naiveDft(x.data, h, w, c, ch);
      assertClose(channel(host.re, c, ch), naive.re, 1e-12, "host re");
      assertClose(channel(host.im, c, ch), naive.im, 1e-12, "host im");
      assertClose(channel(reF, c, ch), naive.re, 1e-5, "TF re");
      assertClose(channel(imF, c, ch), naive.im, 1e-5, "TF im");
    }
    // Parseval: the orthonormal DFT keeps the norm.
    const norm2 = x.data.reduce((a, v) => a + v * v, 0);
    const freq2 = host.re.reduce((a, v, i) => a + v * v + host.im[i] ** 2, 0);
    assertNear(freq2, norm2, 1e-12 * norm2, "Parseval (host)");
    const freqT = tf.add(tf.sum(tf.square(reT)), tf.sum(tf.square(imT))).dataSync()[0];
    assertNear(freqT, norm2, 1e-5 * norm2, "Parseval (TF)");
    // The inverse brings x back, with a zero imaginary part.
    const back = dft2Host(host, h, w, c, true);
    assertClose(back.re, x.data, 1e-12, "inverse re");
    assert(back.im.every((v) => Math.abs(v) < 1e-12), "inverse of a real image's DFT is real");
    assertClose(dft.inverseReal(reT, imT).dataSync(), x.data, 1e-5, "TF inverse");
    dft.dispose();
  });
}

/** Dense AᵀA (D × D) of observation `index` from the informative rows of A. */
function denseNormal(family: OperatorFamily, params: Record<string, NDArray>, index: number): Float64Array {
  const { a, rows, cols: d } = family.denseRows(params, index);
  const ata = new Float64Array(d * d);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) {
      const ai = a[r * d + i];
      if (ai !== 0) { for (let j = 0; j < d; j++) ata[i * d + j] += ai * a[r * d + j]; }
    }
  }
  return ata;
}

function matVec(m: Float64Array, v: Float64Array): Float64Array {
  const d = v.length, out = new Float64Array(d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i] += m[i * d + j] * v[j];
  return out;
}

const normalCases: [string, OperatorFamily, string][] = [
  ["mask [5,4,2]", maskOperator({ xShape: [5, 4, 2], keep: 0.4 }), "pixel"],
  ["box [6,6,1]", boxOperator({ xShape: [6, 6, 1], height: 2, width: 3 }), "pixel"],
  ["fourier [6,5,2] per image", fourierOperator({ xShape: [6, 5, 2], acceleration: 2.5 }), "fourier"],
  [
    "fourier [8,8,1] shared",
    fourierOperator({ xShape: [8, 8, 1], acceleration: 3, shared: true }),
    "fourier",
  ],
  ["fourier [4,7] per image", fourierOperator({ xShape: [4, 7], acceleration: 2, center: 0.3 }), "fourier"],
];

for (const [name, family, basis] of normalCases) {
  Deno.test(`${name}: normal() is AᵀA (dense from denseRows), its functions are functions of AᵀA`, () => {
    const n = 3, d = numel(family.xShape);
    const { params } = family.corrupt(randn([n, ...family.xShape], 1), 7, 0.01);
    for (let index = 0; index < n; index++) {
      const normal = family.normal(params, index)!;
      assert(normal.basis === basis, `basis ${normal.basis}`);
      const ata = denseNormal(family, params, index);
      const v = randn([d], 20 + index).data;
      assertClose(normal.applyFunction((w) => w, v), matVec(ata, v), 1e-12, "Q diag(w) Qᵀ v = AᵀA v");
      // trace(AᵀA) = Σ w.
      let trace = 0;
      for (let i = 0; i < d; i++) trace += ata[i * d + i];
      assertNear(normal.weights.reduce((a, b) => a + b, 0), trace, 1e-10, "Σ w = trace AᵀA");
      // (I + AᵀA/s²)⁻¹ v through applyFunction solves the dense system.
      const s2 = 0.3;
      const u = normal.applyFunction((w) => 1 / (1 + w / s2), v);
      const back = matVec(ata, u).map((vi, i) => u[i] + vi / s2);
      assertClose(back, v, 1e-12, "(I + AᵀA/σ²) u = v");
    }
  });
}

Deno.test("fourier: the centre band is always sampled and round(W / acceleration) columns are kept", () => {
  for (
    const [w, acceleration, center, band] of [[28, 4, 0.15, [26, 27, 0, 1]], [16, 8, 0.125, [15, 0]]] as const
  ) {
    const family = operatorFamily("fourier", { xShape: [4, w, 1], acceleration, center });
    const n = 200;
    const { params } = family.corrupt({ shape: [n, 4, w, 1], data: new Float32Array(n * 4 * w) }, 3, 0.01);
    const cols = params.columns.data;
    const hits = new Array(w).fill(0);
    for (let r = 0; r < n; r++) {
      const row = Array.from(cols.subarray(r * w, (r + 1) * w));
      assert(row.reduce((a, b) => a + b, 0) === Math.round(w / acceleration), `row ${r} keeps ${row}`);
      for (const l of band) assert(row[l] === 1, `centre column ${l} of row ${r} not sampled`);
      row.forEach((v, l) => (hits[l] += v));
    }
    // The other columns are drawn uniformly: each is kept with probability (keep − band) / (W − band).
    const p = (Math.round(w / acceleration) - band.length) / (w - band.length);
    for (let l = 0; l < w; l++) {
      if ((band as readonly number[]).includes(l)) continue;
      assertNear(hits[l] / n, p, 4 * Math.sqrt(p * (1 - p) / n), `column ${l} frequency`);
    }
  }
  // Shared: one [W] mask, the same whatever the shard.
  const shared = fourierOperator({ xShape: [8, 12], acceleration: 4, shared: true });
  const x = randn([5, 8, 12], 2);
  const a = shared.corrupt(x, 9, 0.01).params.columns, b = shared.corrupt(x, 9, 0.01, 3).params.columns;
  assert(a.shape.join() === "12" && a.data.join() === b.data.join(), "shared mask depends on the seed only");
  assert(Array.from(a.data).reduce((s, v) => s + v, 0) === 3, "shared mask keeps W/4 columns");
});

Deno.test("mask: one draw per pixel shared across channels; vectors and C = 1 draw as before", () => {
  const x = randn([4, 6, 5, 3], 1);
  const { params } = maskOperator({ xShape: [6, 5, 3], keep: 0.5 }).corrupt(x, 4, 0.01);
  const m = params.mask.data;
  for (let p = 0; p < m.length / 3; p++) {
    assert(m[3 * p] === m[3 * p + 1] && m[3 * p] === m[3 * p + 2], `pixel ${p}: channels differ`);
  }
  // The previous algorithm, one uniform per entry then one normal per entry, from each row's stream.
  const xv = randn([7, 30], 5), keep = 0.3, sigma = 0.1;
  const expectedMask: number[] = [], expectedY: number[] = [];
  for (let r = 0; r < 7; r++) {
    const s = Rng.fromSeed(8, "row", r);
    const row = Array.from({ length: 30 }, () => (s.uniform() < keep ? 1 : 0));
    expectedMask.push(...row);
    row.forEach((k, j) => {
      const e = s.normal();
      expectedY.push(k ? Math.fround(xv.data[r * 30 + j] + sigma * e) : 0);
    });
  }
  const vec = maskOperator({ xShape: [30], keep }).corrupt(xv, 8, sigma);
  assert(Array.from(vec.params.mask.data).join() === expectedMask.join(), "vector masks unchanged");
  assert(Array.from(vec.y.data).join() === expectedY.join(), "vector observations unchanged");
  const img = maskOperator({ xShape: [5, 6, 1], keep }).corrupt(
    { shape: [7, 5, 6, 1], data: xv.data },
    8,
    sigma,
  );
  assert(Array.from(img.params.mask.data).join() === expectedMask.join(), "single-channel masks as vectors");
  assert(Array.from(img.y.data).join() === expectedY.join(), "single-channel observations as vectors");
});

Deno.test("box: exactly one height × width box hidden per image, in all channels, inside the image", () => {
  const [h, w, c, bh, bw] = [9, 7, 2, 4, 3];
  const family = boxOperator({ xShape: [h, w, c], height: bh, width: bw });
  const n = 300;
  const { y, params } = family.corrupt(randn([n, h, w, c], 3), 5, 0.01);
  const m = params.mask.data, d = h * w * c;
  const tops = new Set<number>(), lefts = new Set<number>();
  for (let r = 0; r < n; r++) {
    const hidden: [number, number][] = [];
    for (let p = 0; p < h * w; p++) {
      const v = m[r * d + p * c];
      for (let k = 1; k < c; k++) assert(m[r * d + p * c + k] === v, "channels share the box");
      if (!v) hidden.push([Math.floor(p / w), p % w]);
    }
    assert(hidden.length === bh * bw, `row ${r}: ${hidden.length} hidden pixels`);
    const top = Math.min(...hidden.map(([i]) => i)), left = Math.min(...hidden.map(([, j]) => j));
    assert(hidden.every(([i, j]) => i - top < bh && j - left < bw), `row ${r}: hidden pixels form a box`);
    tops.add(top), lefts.add(left);
    for (let i = 0; i < d; i++) if (!m[r * d + i]) assert(y.data[r * d + i] === 0, "hidden y is 0");
  }
  // Every placement of the corner occurs (uniform over h − bh + 1 rows and w − bw + 1 columns).
  assert(tops.size === h - bh + 1 && lefts.size === w - bw + 1, `corners: ${[...tops]} / ${[...lefts]}`);
});

Deno.test("box and fourier: configuration errors name the problem", () => {
  const throwsLike = (f: () => unknown, re: RegExp) => {
    try {
      f();
    } catch (e) {
      assert(re.test((e as Error).message), `"${(e as Error).message}" does not match ${re}`);
      return;
    }
    throw new Error(`expected an error matching ${re}`);
  };
  throwsLike(() => operatorFamily("box", { xShape: [8, 8, 1], height: 9 }), /height.*\[1, 8\], got 9/);
  throwsLike(() => operatorFamily("box", { xShape: [64] }), /box: xShape must be an image/);
  throwsLike(() => operatorFamily("fourier", { xShape: [64] }), /fourier: xShape must be an image/);
  throwsLike(() => operatorFamily("fourier", { xShape: [8, 8], acceleration: 0.5 }), /acceleration/);
  throwsLike(
    () => operatorFamily("fourier", { xShape: [8, 8], sharde: true }),
    /invalid fourier operator config/,
  );
  const f = fourierOperator({ xShape: [4, 4] });
  throwsLike(
    () => f.validateParams({ columns: { shape: [2, 3], data: new Uint8Array(6) } }, 2),
    /"columns".*\[2, 4\]/,
  );
  throwsLike(
    () => f.validateParams({ columns: { shape: [1, 4], data: Uint8Array.of(1, 0, 2, 0) } }, 1),
    /binary.*\[0, 2\]/,
  );
  const shared = fourierOperator({ xShape: [4, 4], shared: true });
  throwsLike(() => shared.corrupt(randn([2, 4, 4], 1), new RowStreams(1, 0, 2), 0.1), /drawn from a seed/);
});
