/**
 * What the image data sets share (`mnist.ts`, `fashion_mnist.ts`): the options (split, first N samples,
 * downsampled size), their validation, and raw 8-bit pixels → float32 images `[N, H, W, 1]` in [−1, 1]
 * (x = 2p/255 − 1) after area averaging.
 *
 * Private to datasets/.
 *
 * @module
 */
import type { NDArray } from "../lib/array.ts";

/** Side of the 28 × 28 images of MNIST and Fashion-MNIST. */
export const IMAGE_SIDE = 28;

/** Which part of a data set. */
export type ImageSplit = "train" | "test";

/** Options of the image loaders. */
export interface ImageOptions {
  /** `train` (60 000 images) or `test` (10 000). */
  split: ImageSplit;
  /** The first N images of the split (default: all of it). */
  samples?: number;
  /** Output side S: each S × S image averages (28/S)² pixel blocks; S must divide 28 (default 28). */
  size?: number;
}

/** A labelled image data set. */
export interface ImageDataset {
  /** Images `[N, S, S, 1]`, float32 in [−1, 1]. */
  x: NDArray<Float32Array>;
  /** Class labels 0…9, `[N]` int32. */
  labels: NDArray<Int32Array>;
}

/** Images in each split of MNIST and Fashion-MNIST. */
export const SPLIT_SIZES: Record<ImageSplit, number> = { train: 60000, test: 10000 };

/**
 * The number of images and the output side of `options` for data set `name`, or a clear error.
 *
 * @example
 * ```ts
 * resolveImageOptions("mnist", { split: "test", samples: 100, size: 14 }); // { n: 100, size: 14 }
 * ```
 */
export function resolveImageOptions(name: string, options: ImageOptions): { n: number; size: number } {
  const { split } = options;
  if (split !== "train" && split !== "test") {
    throw new Error(`${name}: split must be "train" or "test", got ${JSON.stringify(split)}`);
  }
  const available = SPLIT_SIZES[split];
  const n = options.samples ?? available;
  if (!Number.isInteger(n) || n < 1 || n > available) {
    throw new Error(
      `${name}: samples must be an integer in [1, ${available}] (the ${split} split), got ${n}`,
    );
  }
  const size = options.size ?? IMAGE_SIDE;
  if (!Number.isInteger(size) || size < 1 || IMAGE_SIDE % size !== 0) {
    throw new Error(
      `${name}: size must divide ${IMAGE_SIDE} (1, 2, 4, 7, 14 or 28) for an exact area average, got ${size}`,
    );
  }
  return { n, size };
}

/**
 * Raw pixels (N row-major 28 × 28 images of 0…255) → `[N, S, S, 1]` float32: the mean of each
 * (28/S) × (28/S) block, scaled to [−1, 1] by x = 2p/255 − 1.
 *
 * @example
 * ```ts
 * toImages(Uint8Array.from({ length: 784 }, () => 255), 1, 14).data[0]; // 1
 * ```
 */
export function toImages(pixels: Uint8Array, n: number, size: number): NDArray<Float32Array> {
  const f = IMAGE_SIDE / size, area = f * f;
  const out = new Float32Array(n * size * size);
  for (let r = 0; r < n; r++) {
    const src = r * IMAGE_SIDE * IMAGE_SIDE;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        let sum = 0;
        for (let u = 0; u < f; u++) {
          const row = src + (i * f + u) * IMAGE_SIDE + j * f;
          for (let v = 0; v < f; v++) sum += pixels[row + v];
        }
        out[(r * size + i) * size + j] = (2 * sum) / (255 * area) - 1;
      }
    }
  }
  return { shape: [n, size, size, 1], data: out };
}

/**
 * Read `length` bytes at `offset` of a file, or throw naming the file when it is shorter.
 *
 * @example
 * ```ts
 * const header = await readBytes(new URL("data/t10k-labels-idx1-ubyte", base), 0, 8);
 * ```
 */
export async function readBytes(path: URL, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  using file = await Deno.open(path);
  await file.seek(offset, Deno.SeekMode.Start);
  let at = 0;
  while (at < length) {
    const got = await file.read(out.subarray(at));
    if (got === null) {
      throw new Error(`${path.pathname}: ends after ${offset + at} bytes, ${offset + length} needed`);
    }
    at += got;
  }
  return out;
}
