/**
 * The low-dimensional benchmark of DiEM (Rozet et al. 2024, manifold experiment; after
 * randman, Zenke & Vogels): points on a random smooth manifold of dimension d embedded in R^D.
 *
 * With latent z ~ U(0, 1)^d and coefficients a, b, c ~ U(0, 1) of shape [D, d, K] drawn once
 * from the seed, feature j is
 *
 *   x_j = Π_{l < d} Σ_{k=1..K} a_{jlk} / k^α · sin(2π (k b_{jlk} z_l + c_{jlk})),   α = 3,
 *
 * then every feature is rescaled to [−2, 2] by its min and max over the generated samples (as the
 * paper's code does; so the data set depends on its size, and equal sizes and seeds give
 * bit-identical data). K defaults to ⌈ε^(−1/α)⌉ = 10 for ε = 1e-3, the paper code's cutoff.
 * The paper's setting: D = 5 features, d = 1, 65 536 samples.
 *
 * Arithmetic is float64; samples are returned as float32.
 *
 * @module
 */
import { Rng } from "../lib/random.ts";
import type { NDArray } from "../lib/array.ts";

/** Options of {@link smoothManifold}. */
export interface ManifoldOptions {
  /** Number of samples N. */
  samples: number;
  /** Ambient dimension D (default 5). */
  features?: number;
  /** Manifold dimension d (default 1). */
  manifoldDim?: number;
  /** Smoothness exponent α (default 3). */
  alpha?: number;
  /** Number of Fourier terms K (default 10 = ⌈(1e-3)^(−1/α)⌉ for α = 3). */
  terms?: number;
  /** Seed: same seed and options → identical data. */
  seed: number;
}

/** The generated data set. */
export interface ManifoldData {
  /** Samples `[N, D]`, each feature spanning exactly [−2, 2]. */
  x: NDArray<Float32Array>;
  /** Latent coordinates `[N, d]` in [0, 1) (for plots of the ground-truth curve). */
  z: NDArray<Float32Array>;
}

/**
 * Sample the random smooth manifold.
 *
 * @example
 * ```ts
 * const { x } = smoothManifold({ samples: 65536, features: 5, manifoldDim: 1, seed: 0 });
 * ```
 */
export function smoothManifold(options: ManifoldOptions): ManifoldData {
  const n = options.samples;
  const dim = options.features ?? 5;
  const md = options.manifoldDim ?? 1;
  const alpha = options.alpha ?? 3;
  // (1e-3)^(−1/3) is 9.999… in floating point; the tolerance makes exact powers land on 10.
  const kTerms = options.terms ?? Math.ceil(1e-3 ** (-1 / alpha) - 1e-9);
  for (
    const [name, v] of [["samples", n], ["features", dim], ["manifoldDim", md], ["terms", kTerms]] as const
  ) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`manifold: ${name} must be a positive integer, got ${v}`);
    }
  }
  // Coefficients first, from their own stream, so they do not depend on N.
  const coef = Rng.fromSeed(options.seed, "manifold", "coefficients");
  const size = dim * md * kTerms;
  const a = new Float64Array(size), b = new Float64Array(size), c = new Float64Array(size);
  coef.fillUniform(a);
  coef.fillUniform(b);
  coef.fillUniform(c);
  const decay = new Float64Array(kTerms);
  for (let k = 0; k < kTerms; k++) decay[k] = (k + 1) ** -alpha;

  const zs = Rng.fromSeed(options.seed, "manifold", "latent");
  const z = new Float32Array(n * md);
  const x64 = new Float64Array(n * dim);
  const zrow = new Float64Array(md);
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < md; l++) {
      zrow[l] = zs.uniform();
      z[i * md + l] = zrow[l];
    }
    for (let j = 0; j < dim; j++) {
      let prod = 1;
      for (let l = 0; l < md; l++) {
        let s = 0;
        const base = (j * md + l) * kTerms;
        for (let k = 0; k < kTerms; k++) {
          s += a[base + k] * decay[k] *
            Math.sin(2 * Math.PI * ((k + 1) * b[base + k] * zrow[l] + c[base + k]));
        }
        prod *= s;
      }
      x64[i * dim + j] = prod;
    }
  }
  // Rescale every feature to [−2, 2].
  const x = new Float32Array(n * dim);
  for (let j = 0; j < dim; j++) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x64[i * dim + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let i = 0; i < n; i++) x[i * dim + j] = span > 0 ? 4 * (x64[i * dim + j] - lo) / span - 2 : 0;
  }
  return { x: { shape: [n, dim], data: x }, z: { shape: [n, md], data: z } };
}
