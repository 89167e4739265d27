/**
 * DiffEM's M-step re-corruption: every training pair gets FRESH operator parameters (not the observed A_i
 * of its row) and fresh noise at the observations' σ_y; the condition encodes exactly (y', A'); every lap
 * (stage seed) draws other operators; and the condition encoding recorded with a model is checked against the
 * observations it samples.
 *
 * Tolerances: the residual y' − A' x has RMS σ_y within 4 %, for 8192 (projection) and ≈ 10000 (mask)
 * noise draws, whose relative standard error is ≈ 0.8 % and 0.7 %. Images (box, fourier): ≥ 18000 observed
 * noise draws, relative standard error ≤ 0.6 %.
 */
import { boxOperator, fourierOperator, maskOperator, projectionOperator } from "../lib/operators/mod.ts";
import { Rng } from "../lib/random.ts";
import {
  checkConditionEncoding,
  conditionEncoding,
  encodeCondition,
  recorrupt,
  recorruptionStats,
} from "../lib/diffem/mod.ts";
import { recorruptionSeed } from "../tasks/fit_conditional.ts";
import { assert } from "./assert.ts";

function cloud(n: number, d: number, seed: number): Float32Array {
  const rng = Rng.fromSeed(seed, "x");
  return Float32Array.from({ length: n * d }, () => rng.normal());
}

Deno.test("re-corruption draws new projections, not the observed ones, with noise at σ_y", () => {
  const n = 4096, d = 5, m = 2, sigmaY = 0.05;
  const family = projectionOperator({ xShape: [d], m });
  const truth = { shape: [n, d], data: cloud(n, d, 1) };
  // The observations, as the corrupt stage makes them (its own seed).
  const observed = family.corrupt(truth, 7, sigmaY);
  // Posterior samples of the observations (here: the truth, slightly perturbed), re-corrupted by lap 0.
  const samples = { shape: [n, d], data: truth.data.map((v, i) => v + 0.1 * Math.sin(i)) };
  const set = recorrupt(family, samples, sigmaY, recorruptionSeed(7));
  assert(set.x.shape[0] === n && set.y.shape.join() === `${n},${m}`, `shapes ${set.x.shape} ${set.y.shape}`);

  let same = 0, sq = 0;
  const a = set.params.matrices.data, a0 = observed.params.matrices.data;
  for (let i = 0; i < n; i++) {
    let equal = true;
    for (let j = 0; j < m * d; j++) if (a[i * m * d + j] !== a0[i * m * d + j]) equal = false;
    if (equal) same++;
    for (let r = 0; r < m; r++) {
      let ax = 0;
      for (let j = 0; j < d; j++) ax += a[(i * m + r) * d + j] * samples.data[i * d + j];
      sq += (set.y.data[i * m + r] - ax) ** 2;
    }
    // Each A'_i is a fresh projection: unit rows.
    for (let r = 0; r < m; r++) {
      let norm = 0;
      for (let j = 0; j < d; j++) norm += a[(i * m + r) * d + j] ** 2;
      assert(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `row ${i}.${r} has norm ${Math.sqrt(norm)}`);
    }
  }
  assert(same === 0, `${same} of ${n} rows re-used their observed operator`);
  const ratio = Math.sqrt(sq / (n * m)) / sigmaY;
  assert(Math.abs(ratio - 1) < 0.04, `residual RMS / σ_y = ${ratio}`);

  // The task's own check agrees.
  const stats = recorruptionStats(
    { family, params: observed.params, sigmaY },
    set,
    Int32Array.from({ length: n }, (_, i) => i),
  );
  assert(stats.freshFraction === 1, `fresh fraction ${stats.freshFraction}`);
  assert(Math.abs(stats.residualOverSigma - ratio) < 1e-9, `${stats.residualOverSigma} vs ${ratio}`);

  // The condition is exactly (y', flatten A'), row by row.
  const c = set.conditions;
  assert(c.shape.join() === `${n},${m + m * d}`, `conditions ${c.shape}`);
  for (const i of [0, 1, n - 1]) {
    const row = c.data.subarray(i * 12, (i + 1) * 12);
    assert(row[0] === set.y.data[i * 2] && row[1] === set.y.data[i * 2 + 1], `row ${i}: y`);
    for (let j = 0; j < 10; j++) assert(row[2 + j] === a[i * 10 + j], `row ${i}: A[${j}]`);
  }

  // Another lap (another stage seed) draws other operators again.
  const next = recorrupt(family, samples, sigmaY, recorruptionSeed(8));
  let repeated = 0;
  for (let i = 0; i < n; i++) if (next.params.matrices.data[i * 10] === a[i * 10]) repeated++;
  assert(repeated === 0, `${repeated} rows drew the same operator in two laps`);

  // Copies: independent corruptions of each sample.
  const twice = recorrupt(family, samples, sigmaY, recorruptionSeed(7), 2);
  assert(twice.x.shape[0] === 2 * n, `copies: ${twice.x.shape}`);
  assert(twice.x.data[n * d] === samples.data[0], "copy 1 of row 0 is row 0");
  assert(twice.params.matrices.data[n * 10] !== twice.params.matrices.data[0], "copies draw their own A");
});

Deno.test("re-corruption draws fresh masks at the keep rate, noise at σ_y on observed entries", () => {
  const n = 4000, d = 5, keep = 0.5, sigmaY = 0.2;
  const family = maskOperator({ xShape: [d], keep });
  const truth = { shape: [n, d], data: cloud(n, d, 2) };
  const observed = family.corrupt(truth, 3, sigmaY);
  const set = recorrupt(family, truth, sigmaY, recorruptionSeed(3));
  const stats = recorruptionStats(
    { family, params: observed.params, sigmaY },
    set,
    Int32Array.from({ length: n }, (_, i) => i),
  );
  // A fresh mask repeats the observed one when all 5 entries agree, each with probability ½: 1/32.
  assert(Math.abs(stats.freshFraction! - (1 - 1 / 32)) < 0.012, `fresh fraction ${stats.freshFraction}`);
  assert(Math.abs(stats.residualOverSigma - 1) < 0.04, `residual RMS / σ_y = ${stats.residualOverSigma}`);
  let kept = 0;
  for (const v of set.params.mask.data) kept += v;
  assert(Math.abs(kept / (n * d) - keep) < 0.02, `keep rate ${kept / (n * d)}`);
  // Vector masks encode as concat(y, mask).
  const enc = conditionEncoding(family);
  assert(enc.features === 2 * d && enc.parts.map((p) => p.name).join() === "y,mask", JSON.stringify(enc));
  const c = encodeCondition(family, set.params, set.y);
  for (let j = 0; j < d; j++) {
    assert(c.data[j] === set.y.data[j] && c.data[d + j] === set.params.mask.data[j], `condition entry ${j}`);
  }
});

Deno.test("a conditional model refuses observations encoded differently from its training", () => {
  const trained = conditionEncoding(projectionOperator({ xShape: [5], m: 2 }));
  checkConditionEncoding(trained, projectionOperator({ xShape: [5], m: 2 }), "model");
  let message = "";
  try {
    checkConditionEncoding(trained, projectionOperator({ xShape: [5], m: 3 }), "stage diffem[0].fit");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("stage diffem[0].fit was trained on conditions"), `message: ${message}`);
  // Images: channels [Aᵀy, mask] per pixel.
  const img = conditionEncoding(maskOperator({ xShape: [4, 4, 1], keep: 0.5 }));
  assert(img.layout === "channels" && img.channels === 2 && img.features === 32, JSON.stringify(img));
});

Deno.test("images: fresh boxes and k-space column masks; conditions [Aᵀy, mask] and [Aᵀy, column mask]", () => {
  const n = 300, sigmaY = 0.1;
  const x = { shape: [n, 8, 6, 2], data: cloud(n, 8 * 6 * 2, 4) };
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  for (
    const family of [
      boxOperator({ xShape: [8, 6, 2], height: 3, width: 4 }),
      fourierOperator({ xShape: [8, 6, 2], acceleration: 2 }),
    ]
  ) {
    const observed = family.corrupt(x, 3, sigmaY);
    const set = recorrupt(family, x, sigmaY, recorruptionSeed(3));
    const stats = recorruptionStats({ family, params: observed.params, sigmaY }, set, rows);
    // Box: 6 · 3 placements, a fresh one repeats the observed with probability 1/18. Fourier: 3 of 6 columns,
    // the band {0} fixed, 2 of the other 5: C(5, 2) = 10 masks, repeats with probability 1/10.
    const repeat = family.kind === "box" ? 1 / 18 : 1 / 10;
    assert(
      Math.abs(stats.freshFraction! - (1 - repeat)) < 0.06,
      `${family.kind}: fresh ${stats.freshFraction}`,
    );
    assert(
      Math.abs(stats.residualOverSigma - 1) < 0.04,
      `${family.kind}: residual / σ_y ${stats.residualOverSigma}`,
    );
    const enc = conditionEncoding(family);
    const extra = family.kind === "box" ? 2 : 1;
    assert(enc.layout === "channels" && enc.channels === 2 + extra, JSON.stringify(enc));
    const c = encodeCondition(family, set.params, set.y).data;
    const aty = family.adjointHost(set.y, set.params).data;
    for (let i = 0; i < 2 * 48; i++) {
      const r = Math.floor(i / 48), p = i % 48, at = i * (2 + extra);
      for (let k = 0; k < 2; k++) assert(c[at + k] === Math.fround(aty[i * 2 + k]), `Aᵀy entry ${i}, ${k}`);
      const expected = family.kind === "box"
        ? [set.params.mask.data[i * 2], set.params.mask.data[i * 2 + 1]]
        : [set.params.columns.data[r * 6 + (p % 6)]];
      assert(expected.every((v, k) => c[at + 2 + k] === v), `${family.kind}: mask channels of pixel ${i}`);
    }
  }
  // A shared column mask is redrawn from the re-corruption's own seed.
  const shared = fourierOperator({ xShape: [8, 16, 1], acceleration: 4, shared: true });
  const xs = { shape: [4, 8, 16, 1], data: cloud(4, 128, 5) };
  const masks = [1, 2, 3].map((lap) =>
    recorrupt(shared, xs, sigmaY, recorruptionSeed(lap)).params.columns.data.join()
  );
  assert(new Set(masks).size > 1, `shared masks of three laps: ${masks.join(" | ")}`);
});
