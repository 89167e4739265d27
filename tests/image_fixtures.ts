/**
 * Synthetic images for the image tests: 8×8×1 bars (a mixture no Gaussian captures) and their masked
 * observations as a Zarr group that `dataset` with `source: zarr` reads.
 *
 * @module
 */
import { operatorFamily } from "../lib/operators/mod.ts";
import { createGroup, writeArray } from "../lib/engine/mod.ts";
import { Rng } from "../lib/random.ts";
import type { NDArray } from "../lib/array.ts";

const SIZE = 8;

/** `n` images `[n, 8, 8, 1]` in [−1, 1]: −1 everywhere but one full row or column at +1. */
export function barImages(n: number, seed: number): NDArray<Float32Array> {
  const rng = Rng.fromSeed(seed, "bars");
  const data = new Float32Array(n * SIZE * SIZE).fill(-1);
  for (let i = 0; i < n; i++) {
    const vertical = rng.int(2) === 1, at = rng.int(SIZE);
    for (let k = 0; k < SIZE; k++) {
      const [r, c] = vertical ? [k, at] : [at, k];
      data[i * SIZE * SIZE + r * SIZE + c] = 1;
    }
  }
  return { shape: [n, SIZE, SIZE, 1], data };
}

/** A Zarr group of masked observations of `barImages(n)`, with the hidden x for scoring. */
export async function writeMaskedBars(dir: string, n: number, keep: number, sigmaY: number): Promise<void> {
  const x = barImages(n, 3);
  const family = operatorFamily("mask", { xShape: [SIZE, SIZE, 1], keep });
  const { y, params } = family.corrupt(x, 5, sigmaY);
  await createGroup(dir, { operator: "mask", sigma_y: sigmaY });
  await writeArray(dir, "y", y);
  await writeArray(dir, "mask", params.mask);
  await writeArray(dir, "x", x);
}
