/**
 * PNG encoding and decoding, without dependencies: chunks with CRC-32, zlib through `node:zlib`.
 *
 * Only what plots need: 8-bit greyscale, grey + alpha, RGB and RGBA, non-interlaced. The decoder
 * exists so that tests (and anyone checking a report) can read the pixels back.
 *
 * ```ts
 * const rgba = new Uint8Array(2 * 2 * 4).fill(255);
 * const png = encodePng({ width: 2, height: 2, channels: 4, data: rgba });
 * decodePng(png).width; // 2
 * ```
 *
 * @module
 */
import { deflateSync, inflateSync } from "node:zlib";

/** Channels per pixel: grey, grey + alpha, RGB, RGBA. `const rgba: Channels = 4;` */
export type Channels = 1 | 2 | 3 | 4;

/**
 * A raster of 8-bit samples, row-major, `channels` samples per pixel.
 *
 * ```ts
 * const img: RasterImage = { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) };
 * ```
 */
export interface RasterImage {
  width: number;
  height: number;
  channels: Channels;
  data: Uint8Array | Uint8ClampedArray;
}

/** The eight bytes every PNG file starts with. `png.subarray(0, 8)` equals it. */
export const PNG_SIGNATURE: Uint8Array = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

const COLOR_TYPE: Record<Channels, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_OF: Record<number, Channels> = { 0: 1, 4: 2, 2: 3, 6: 4 };

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (ISO 3309, the one PNG and zlib use) of `bytes`, as an unsigned integer.
 *
 * ```ts
 * crc32(new TextEncoder().encode("IEND")); // 0xae426082
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(out, 4, 8 + payload.length));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * The value that filter `f` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) predicts for byte `i` of
 * scanline `y` of `bytes` (unfiltered, `stride` bytes a line, `bpp` a pixel); NaN for another `f`.
 */
function predict(
  f: number,
  bytes: ArrayLike<number>,
  y: number,
  i: number,
  stride: number,
  bpp: number,
): number {
  const row = y * stride, prev = row - stride;
  const a = i >= bpp ? bytes[row + i - bpp] : 0;
  const b = y > 0 ? bytes[prev + i] : 0;
  const c = y > 0 && i >= bpp ? bytes[prev + i - bpp] : 0;
  return f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : f === 4 ? paeth(a, b, c) : NaN;
}

/**
 * Filter every scanline with the filter that minimises the sum of absolute (signed) residuals,
 * the heuristic the PNG specification recommends: plots are flat areas and thin lines, where
 * Sub/Up residuals are mostly zero and deflate well.
 */
function filterScanlines(img: RasterImage): Uint8Array {
  const { width, height, channels: bpp, data } = img;
  const stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    let bestFilter = 0, bestScore = Infinity;
    for (let f = 0; f < 5; f++) {
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const r = (data[row + i] - predict(f, data, y, i, stride, bpp)) & 0xff;
        score += r < 128 ? r : 256 - r;
      }
      if (score < bestScore) bestScore = score, bestFilter = f;
    }
    const o = y * (stride + 1);
    out[o] = bestFilter;
    for (let i = 0; i < stride; i++) {
      candidate[i] = (data[row + i] - predict(bestFilter, data, y, i, stride, bpp)) & 0xff;
    }
    out.set(candidate, o + 1);
  }
  return out;
}

/**
 * Encode an 8-bit image as a PNG file.
 *
 * ```ts
 * const png = encodePng({ width: 1, height: 1, channels: 1, data: new Uint8Array([128]) });
 * await Deno.writeFile("grey.png", png);
 * ```
 */
export function encodePng(img: RasterImage): Uint8Array {
  const { width, height, channels, data } = img;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new Error(`encodePng: bad size ${width}×${height}`);
  }
  if (!(channels in COLOR_TYPE)) throw new Error(`encodePng: channels must be 1, 2, 3 or 4, not ${channels}`);
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${data.length} samples for ${width}×${height}×${channels}`);
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPE[channels];
  // compression 0, filter method 0, interlace 0
  const idat = deflateSync(filterScanlines(img), { level: 6 });
  const parts = [
    PNG_SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", new Uint8Array(idat)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

/**
 * One chunk of a PNG file, as found by {@link readPngChunks}.
 *
 * ```ts
 * const [ihdr] = readPngChunks(png); // { type: "IHDR", data, crcOk: true }
 * ```
 */
export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** Whether the stored CRC matches the chunk's type and data. */
  crcOk: boolean;
}

/**
 * Split a PNG file into its chunks, checking the signature and each chunk's CRC.
 *
 * ```ts
 * readPngChunks(png).map((c) => c.type); // ["IHDR", "IDAT", "IEND"]
 * ```
 */
export function readPngChunks(bytes: Uint8Array): PngChunk[] {
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) throw new Error("not a PNG file (bad signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let o = 8;
  while (o + 12 <= bytes.length) {
    const length = view.getUint32(o);
    if (o + 12 + length > bytes.length) throw new Error(`truncated PNG chunk at byte ${o}`);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    const data = bytes.subarray(o + 8, o + 8 + length);
    const crcOk = view.getUint32(o + 8 + length) === crc32(bytes, o + 4, o + 8 + length);
    chunks.push({ type, data, crcOk });
    o += 12 + length;
    if (type === "IEND") break;
  }
  return chunks;
}

/**
 * The header fields of a PNG file (its IHDR chunk).
 *
 * ```ts
 * const { width, height, channels } = readPngHeader(await Deno.readFile("sinkhorn.png"));
 * ```
 */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Channels per pixel, or null for a colour type this module does not decode (palette). */
  channels: Channels | null;
  interlace: number;
}

/**
 * Read the IHDR of a PNG file without decoding its pixels.
 *
 * ```ts
 * readPngHeader(encodePng({ width: 3, height: 2, channels: 4, data: new Uint8Array(24) })).width; // 3
 * ```
 */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  const first = readPngChunks(bytes)[0];
  if (!first || first.type !== "IHDR" || first.data.length !== 13) throw new Error("PNG without IHDR first");
  const v = new DataView(first.data.buffer, first.data.byteOffset, 13);
  const colorType = first.data[9];
  return {
    width: v.getUint32(0),
    height: v.getUint32(4),
    bitDepth: first.data[8],
    colorType,
    channels: CHANNELS_OF[colorType] ?? null,
    interlace: first.data[12],
  };
}

/**
 * Decode an 8-bit, non-interlaced greyscale, grey + alpha, RGB or RGBA PNG (what {@link encodePng}
 * writes, and what most tools write for such images). Throws on a bad CRC.
 *
 * ```ts
 * const img = decodePng(await Deno.readFile("corner_em_lap3.png"));
 * img.data[0]; // red of the top-left pixel
 * ```
 */
export function decodePng(bytes: Uint8Array): RasterImage {
  const chunks = readPngChunks(bytes);
  const bad = chunks.find((c) => !c.crcOk);
  if (bad) throw new Error(`PNG chunk ${bad.type} has a bad CRC`);
  const h = readPngHeader(bytes);
  if (h.bitDepth !== 8 || h.channels === null || h.interlace !== 0) {
    throw new Error(
      `decodePng: unsupported PNG (bit depth ${h.bitDepth}, colour type ${h.colorType}, interlace ${h.interlace})`,
    );
  }
  const idat = chunks.filter((c) => c.type === "IDAT");
  const joined = new Uint8Array(idat.reduce((s, c) => s + c.data.length, 0));
  let o = 0;
  for (const c of idat) joined.set(c.data, o), o += c.data.length;
  const raw = new Uint8Array(inflateSync(joined));
  const bpp = h.channels, stride = h.width * bpp;
  if (raw.length !== h.height * (stride + 1)) {
    throw new Error(`decodePng: ${raw.length} bytes of scanlines, expected ${h.height * (stride + 1)}`);
  }
  const out = new Uint8Array(h.height * stride);
  for (let y = 0; y < h.height; y++) {
    const f = raw[y * (stride + 1)], src = y * (stride + 1) + 1, row = y * stride;
    for (let i = 0; i < stride; i++) {
      const predicted = predict(f, out, y, i, stride, bpp);
      if (Number.isNaN(predicted)) throw new Error(`decodePng: unknown filter ${f} on row ${y}`);
      out[row + i] = (raw[src + i] + predicted) & 0xff;
    }
  }
  return { width: h.width, height: h.height, channels: bpp, data: out };
}
