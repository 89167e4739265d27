/**
 * Image metrics against exact answers: the Fréchet distance of Gaussians with known moments (closed forms for
 * commuting covariances and for any 2 × 2 pair), of a set to itself (0) and to a shifted copy (‖c‖²), and of
 * samples of two known Gaussians (converging to the closed form); PSNR and SSIM identities (∞ and 1), a
 * hand-computed PSNR, SSIM of constant images, and SSIM on a single window computed by hand.
 */
import { assert, assertEquals, assertNear } from "./assert.ts";
import {
  featureMoments,
  frechetDistance,
  frechetFromMoments,
  psnr,
  ssim,
  ssimWindowSize,
} from "../lib/metrics/mod.ts";
import { matrix } from "../lib/linalg/mod.ts";
import { Rng } from "../lib/random.ts";

const gaussian = (mean: number[], cov: number[]) => ({
  mean: Float64Array.from(mean),
  cov: matrix(mean.length, mean.length, cov),
});

Deno.test("metrics_images: Fréchet distance of Gaussians in closed form", () => {
  // Commuting (diagonal) covariances: FD = ‖Δμ‖² + Σ (√a − √b)².
  const a = gaussian([0, 1, 2], [4, 0, 0, 0, 1, 0, 0, 0, 9]);
  const b = gaussian([1, 1, 0], [1, 0, 0, 0, 1, 0, 0, 0, 16]);
  assertNear(frechetFromMoments(a, b), 5 + 1 + 0 + 1, 1e-12, "diagonal");
  // Any 2 × 2 pair: tr (S₁^{1/2} S₂ S₁^{1/2})^{1/2} = √(tr(S₁S₂) + 2 √(det S₁ det S₂)).
  const s1 = [2, 0.7, 0.7, 1], s2 = [1, -0.4, -0.4, 3];
  const trS1S2 = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
  const det = (s: number[]) => s[0] * s[3] - s[1] * s[2];
  const cross = Math.sqrt(trS1S2 + 2 * Math.sqrt(det(s1) * det(s2)));
  const exact = 0.5 ** 2 + 2 ** 2 + 3 + 4 - 2 * cross;
  assertNear(frechetFromMoments(gaussian([0, 0], s1), gaussian([0.5, -2], s2)), exact, 1e-12, "2 × 2");
  assertNear(frechetFromMoments(gaussian([0.5, -2], s2), gaussian([0, 0], s1)), exact, 1e-12, "symmetric");
});

Deno.test("metrics_images: Fréchet distance of feature sets", () => {
  const rng = Rng.fromSeed(5, "features");
  // Fewer rows than features: a singular covariance, whose square root must still be exact.
  for (const [n, f] of [[200, 6], [20, 32]]) {
    const x = { shape: [n, f], data: new Float32Array(n * f) };
    rng.fillNormal(x.data);
    assertNear(frechetDistance(x, x), 0, 1e-9, `FD(X, X), ${n} × ${f}`);
    // A shift moves only the mean: FD = ‖c‖² = f · 0.25.
    const shifted = { shape: x.shape, data: x.data.map((v) => v + 0.5) };
    assertNear(frechetDistance(x, shifted), f * 0.25, 1e-4, `FD(X, X + c), ${n} × ${f}`);
  }
  // Samples of two known Gaussians: the estimate converges to the closed form (N = 40 000: within 0.05).
  const n = 40000, l1 = [1, 0, 0.5, 2], l2 = [0.5, 0, -0.3, 1];
  const draw = (l: number[], mu: number[]) => {
    const data = new Float32Array(2 * n), z = new Float64Array(2);
    for (let i = 0; i < n; i++) {
      rng.fillNormal(z);
      data[2 * i] = mu[0] + l[0] * z[0];
      data[2 * i + 1] = mu[1] + l[2] * z[0] + l[3] * z[1];
    }
    return { shape: [n, 2], data };
  };
  const cov = (l: number[]) => [l[0] ** 2, l[0] * l[2], l[0] * l[2], l[2] ** 2 + l[3] ** 2];
  const exact = frechetFromMoments(gaussian([0, 0], cov(l1)), gaussian([1, -1], cov(l2)));
  const x1 = draw(l1, [0, 0]), x2 = draw(l2, [1, -1]);
  assertNear(frechetDistance(x1, x2), exact, 0.05, "sampled Gaussians");
  // A non-finite feature (a diverged sample) gives NaN, not a number.
  assert(Number.isNaN(frechetDistance(x1, { shape: [2, 2], data: Float32Array.of(0, NaN, 1, 1) })), "NaN");
  // Unbiased covariance: [0, 1, 2] has variance 1.
  assertEquals(Array.from(featureMoments({ shape: [3, 1], data: Float32Array.of(0, 1, 2) }).cov.data), [1]);
});

Deno.test("metrics_images: PSNR identities and a hand-computed case", () => {
  const shape = [2, 4, 4, 1];
  const x = { shape, data: new Float32Array(32).map((_, i) => Math.sin(i) * 0.9) };
  assertEquals(Array.from(psnr(x, x)), [Infinity, Infinity]);
  // Off by 0.1 everywhere: MSE = 0.01, PSNR = 10 log₁₀(2² / 0.01) = 26.0206 dB.
  const off = { shape, data: x.data.map((v) => v + 0.1) };
  for (const v of psnr(off, x)) assertNear(v, 10 * Math.log10(400), 1e-5);
  // Data range 1: 10 log₁₀(1 / 0.01) = 20 dB.
  assertNear(psnr(off, x, { dataRange: 1 })[0], 20, 1e-5);
});

Deno.test("metrics_images: SSIM identities, constant images, one window by hand", () => {
  assertEquals([ssimWindowSize(28, 28), ssimWindowSize(14, 14), ssimWindowSize(8, 8), ssimWindowSize(3, 5)], [
    11,
    11,
    7,
    3,
  ]);
  const rng = Rng.fromSeed(2, "ssim");
  const x = { shape: [3, 14, 14, 2], data: new Float32Array(3 * 14 * 14 * 2) };
  rng.fillUniform(x.data);
  for (const v of ssim(x, x)) assertNear(v, 1, 1e-12, "SSIM(x, x)");
  // Constant images a and b: no variance, SSIM = (2ab + C₁) / (a² + b² + C₁) with C₁ = (0.01 · 2)².
  const c1 = 0.02 ** 2, a = 0.3, b = -0.2;
  const constant = (v: number) => ({ shape: [1, 9, 9, 1], data: new Float32Array(81).fill(v) });
  assertNear(ssim(constant(a), constant(b))[0], (2 * a * b + c1) / (a * a + b * b + c1), 1e-6);
  // A 3 × 3 image is one window (σ = 1.5, 3 taps): weighted moments written out.
  const p = [0.1, -0.5, 0.9, 0.3, 0, -0.2, 0.7, 0.4, -0.8],
    q = [0.2, -0.4, 0.6, 0.1, 0.3, -0.1, 0.5, 0.2, -0.9];
  const g = [Math.exp(-1 / 4.5), 1, Math.exp(-1 / 4.5)];
  const gs = g[0] + g[1] + g[2];
  const wt = (k: number) => (g[Math.floor(k / 3)] * g[k % 3]) / (gs * gs);
  const e = (f: (k: number) => number) => p.reduce((s, _, k) => s + wt(k) * f(k), 0);
  const mp = e((k) => p[k]), mq = e((k) => q[k]);
  const vp = e((k) => (p[k] - mp) ** 2), vq = e((k) => (q[k] - mq) ** 2);
  const cpq = e((k) => (p[k] - mp) * (q[k] - mq));
  const c2 = 0.06 ** 2;
  const exact = ((2 * mp * mq + c1) * (2 * cpq + c2)) / ((mp * mp + mq * mq + c1) * (vp + vq + c2));
  const img = (v: number[]) => ({ shape: [1, 3, 3, 1], data: Float32Array.from(v) });
  const got = ssim(img(p), img(q))[0];
  assertNear(got, exact, 1e-6, "one window");
  assertNear(ssim(img(q), img(p))[0], got, 1e-12, "symmetric");
  assert(got < 1, "different images score below 1");
});
