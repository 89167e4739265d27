/**
 * Samplers of docs/design.md §2, in the style of k-diffusion's `sampling.py`: each walks a decreasing grid of noise
 * levels σ_0 > σ_1 > … > σ_N (see `sigmaGrid`) and finishes with one denoise at σ_N.
 *
 * Noise comes from per-row streams ({@link RowStreams}) drawn on the host and uploaded, so row r of a batch
 * gets the same numbers whether it is sampled alone, in a shard, or in one big batch.
 *
 * Every sampler takes ownership of nothing: the input `x` is left alone, the result is a new tensor, and
 * every intermediate is freed (tf.memory().numTensors is flat across steps).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Denoiser } from "./types.ts";
import type { RowStreams } from "../random.ts";

/** Progress callback: `step` of `total` done (called after each step; total includes the final denoise). */
export type OnStep = (step: number, total: number) => void;

/** Options shared by the samplers. */
export interface SamplerOptions {
  onStep?: OnStep;
}

/**
 * Standard normal noise of `shape` `[B, ...]`, row r drawn from `rows.streams[r]`.
 *
 * @example
 * ```ts
 * const eps = rowNoise(new RowStreams(seed, first, B), [B, D]);
 * ```
 */
function rowNoise(rows: RowStreams, shape: readonly number[]): tf.Tensor {
  const b = shape[0];
  if (rows.streams.length !== b) throw new Error(`rowNoise: ${rows.streams.length} streams for ${b} rows`);
  const dim = shape.slice(1).reduce((p, q) => p * q, 1);
  const buf = new Float32Array(b * dim);
  rows.fillNormal(buf, dim);
  return tf.tensor(buf, shape as number[], "float32");
}

/**
 * The starting point x = μ + σ_max z, z ~ N(0, I) from the row streams (μ = 0 when not given).
 *
 * @example
 * ```ts
 * const rows = new RowStreams(seed, firstRow, 1024);
 * const x = initialSample(rows, [1024, 5], sigmas[0]);
 * ```
 */
export function initialSample(
  rows: RowStreams,
  shape: readonly number[],
  sigmaMax: number,
  mean?: tf.Tensor | Float32Array,
): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.mul(rowNoise(rows, shape), sigmaMax);
    if (!mean) return x;
    const m = mean instanceof tf.Tensor ? mean : tf.tensor(mean, [1, ...shape.slice(1)]);
    return tf.add(x, m);
  });
}

function sigmaBatch(x: tf.Tensor, sigma: number): tf.Tensor1D {
  return tf.fill([x.shape[0]], sigma) as tf.Tensor1D;
}

/** Run `step(x)` in a tidy scope and free the previous x unless it is the caller's input. */
function advance(x: tf.Tensor, input: tf.Tensor, step: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const next = tf.tidy(() => step(x));
  if (x !== input) x.dispose();
  return next;
}

/**
 * Ancestral (DDPM) sampler: τ = 1 − σ_s²/σ_t², x_s = x_t − τ (x_t − d(x_t, σ_t)) + σ_s √τ ε.
 *
 * @example
 * ```ts
 * const sigmas = sigmaGrid(veSchedule(), 256);
 * const x0 = sampleDDPM(denoiser, initialSample(rows, [B, D], sigmas[0]), sigmas, rows);
 * ```
 */
export function sampleDDPM(
  denoiser: Denoiser,
  x: tf.Tensor,
  sigmas: ArrayLike<number>,
  rows: RowStreams,
  opts: SamplerOptions = {},
): tf.Tensor {
  const input = x, n = sigmas.length - 1;
  for (let i = 0; i < n; i++) {
    const [st, ss] = [sigmas[i], sigmas[i + 1]];
    const tau = 1 - (ss * ss) / (st * st);
    x = advance(x, input, (x) => {
      const drift = tf.sub(x, denoiser(x, sigmaBatch(x, st)));
      return tf.add(tf.sub(x, tf.mul(drift, tau)), tf.mul(rowNoise(rows, x.shape), ss * Math.sqrt(tau)));
    });
    opts.onStep?.(i + 1, n + 1);
  }
  return finalDenoise(denoiser, x, input, sigmas[n], n, opts);
}

/**
 * DDIM (deterministic) sampler: x_s = x_t − (1 − σ_s/σ_t)(x_t − d(x_t, σ_t)). Needs no noise after the start.
 *
 * @example
 * ```ts
 * const x0 = sampleDDIM(denoiser, initialSample(rows, [B, D], sigmas[0]), sigmas);
 * ```
 */
export function sampleDDIM(
  denoiser: Denoiser,
  x: tf.Tensor,
  sigmas: ArrayLike<number>,
  _rows?: RowStreams,
  opts: SamplerOptions = {},
): tf.Tensor {
  const input = x, n = sigmas.length - 1;
  for (let i = 0; i < n; i++) {
    const [st, ss] = [sigmas[i], sigmas[i + 1]];
    x = advance(x, input, (x) => tf.sub(x, tf.mul(tf.sub(x, denoiser(x, sigmaBatch(x, st))), 1 - ss / st)));
    opts.onStep?.(i + 1, n + 1);
  }
  return finalDenoise(denoiser, x, input, sigmas[n], n, opts);
}

/** Options of the predictor–corrector sampler. */
export interface PCOptions extends SamplerOptions {
  /** Langevin corrections per step (default 1). */
  corrections?: number;
  /** Corrector step τ_c (default 0.1). */
  tauC?: number;
}

/**
 * Predictor–corrector sampler: the DDIM step to σ_s, then C Langevin corrections at σ_s:
 * x ← x − τ_c (x − d(x, σ_s)) + σ_s √(2 τ_c) ε.
 *
 * @example
 * ```ts
 * const x0 = samplePC(denoiser, initialSample(rows, [B, D], sigmas[0]), sigmas, rows, { corrections: 1 });
 * ```
 */
export function samplePC(
  denoiser: Denoiser,
  x: tf.Tensor,
  sigmas: ArrayLike<number>,
  rows: RowStreams,
  opts: PCOptions = {},
): tf.Tensor {
  const input = x, n = sigmas.length - 1;
  const corrections = opts.corrections ?? 1, tauC = opts.tauC ?? 0.1;
  for (let i = 0; i < n; i++) {
    const [st, ss] = [sigmas[i], sigmas[i + 1]];
    x = advance(x, input, (x) => tf.sub(x, tf.mul(tf.sub(x, denoiser(x, sigmaBatch(x, st))), 1 - ss / st)));
    for (let c = 0; c < corrections; c++) {
      x = advance(x, input, (x) => {
        const drift = tf.sub(x, denoiser(x, sigmaBatch(x, ss)));
        return tf.add(
          tf.sub(x, tf.mul(drift, tauC)),
          tf.mul(rowNoise(rows, x.shape), ss * Math.sqrt(2 * tauC)),
        );
      });
    }
    opts.onStep?.(i + 1, n + 1);
  }
  return finalDenoise(denoiser, x, input, sigmas[n], n, opts);
}

function finalDenoise(
  denoiser: Denoiser,
  x: tf.Tensor,
  input: tf.Tensor,
  sigma: number,
  n: number,
  opts: SamplerOptions,
): tf.Tensor {
  const out = tf.tidy(() => denoiser(x, sigmaBatch(x, sigma)));
  if (x !== input) x.dispose();
  opts.onStep?.(n + 1, n + 1);
  return out;
}

/**
 * The samplers by name, for specs and the CLI.
 *
 * @example
 * ```ts
 * const x0 = SAMPLERS["ddpm"](denoiser, x, sigmas, rows);
 * ```
 */
export const SAMPLERS = { ddpm: sampleDDPM, ddim: sampleDDIM, pc: samplePC } as const;
/** A sampler name. */
export type SamplerName = keyof typeof SAMPLERS;
