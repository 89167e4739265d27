/**
 * lib/plot: PNG encoding (round trip, and a file any zlib reader accepts), text rendering at the
 * expected pixels, nice ticks and tick labels, blending, and the figures end to end.
 */
import { inflateSync } from "node:zlib";
import {
  autoTicks,
  BLACK,
  Canvas,
  cornerPlot,
  crc32,
  decodePng,
  encodePng,
  formatNumber,
  formatTick,
  GLYPH_ADVANCE,
  hasGlyph,
  imageGrid,
  lineChart,
  logTicks,
  niceNumber,
  niceTicks,
  parseColor,
  PNG_SIGNATURE,
  readPngChunks,
  readPngHeader,
  tickFormatter,
} from "../lib/plot/mod.ts";
import { assert, assertEquals, assertNear } from "./assert.ts";

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Runs of equal bytes as well as noise, so that every filter type gets chosen somewhere.
    out[i] = i % 97 < 40 ? (i >> 6) & 0xff : s >>> 24;
  }
  return out;
}

Deno.test("crc32 matches the known CRC of the IEND chunk type", () => {
  assertEquals(crc32(new TextEncoder().encode("IEND")), 0xae426082);
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("PNG round trip: grey, grey+alpha, RGB and RGBA decode to the same samples", () => {
  for (const channels of [1, 2, 3, 4] as const) {
    const width = 37, height = 23;
    const data = randomBytes(width * height * channels, channels);
    const png = encodePng({ width, height, channels, data });
    const back = decodePng(png);
    assertEquals([back.width, back.height, back.channels], [width, height, channels]);
    assert(back.data.every((v, i) => v === data[i]), `channels ${channels}: pixels differ`);
  }
});

Deno.test("a PNG file: signature, IHDR first, valid CRCs, IDAT inflating (node:zlib) to the filtered scanlines, IEND last", () => {
  const width = 5, height = 3;
  const rgba = randomBytes(width * height * 4, 9);
  const png = encodePng({ width, height, channels: 4, data: rgba });
  assertEquals([...png.subarray(0, 8)], [...PNG_SIGNATURE]);
  const chunks = readPngChunks(png);
  assertEquals(chunks.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
  assert(chunks.every((c) => c.crcOk), "every CRC valid");
  const h = readPngHeader(png);
  assertEquals([h.width, h.height, h.bitDepth, h.colorType, h.interlace], [5, 3, 8, 6, 0]);
  const raw = new Uint8Array(inflateSync(chunks[1].data));
  assertEquals(raw.length, height * (1 + width * 4));
  for (let y = 0; y < height; y++) assert(raw[y * (1 + width * 4)] <= 4, "filter type byte in 0..4");
  // A row filtered with "None" holds the pixels themselves.
  const flat = encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
  const rawFlat = new Uint8Array(inflateSync(readPngChunks(flat)[1].data));
  if (rawFlat[0] === 0) assertEquals([...rawFlat.subarray(1)], [1, 2, 3, 4, 5, 6]);
});

Deno.test("decodePng refuses a file with a flipped byte (bad CRC) and a non-PNG", () => {
  const png = encodePng({ width: 4, height: 4, channels: 3, data: randomBytes(48, 3) });
  png[40] ^= 0x10;
  let threw = false;
  try {
    decodePng(png);
  } catch (e) {
    threw = /CRC/.test((e as Error).message);
  }
  assert(threw, "bad CRC detected");
  threw = false;
  try {
    decodePng(new TextEncoder().encode("GIF89a........"));
  } catch (e) {
    threw = /signature/.test((e as Error).message);
  }
  assert(threw, "bad signature detected");
});

Deno.test("text puts the glyph's pixels where expected: upright and rotated", () => {
  const c = new Canvas(40, 30);
  c.text("T", 2, 3);
  const ink = (x: number, y: number) => c.getPixel(x, y)[0] < 128;
  // "T": a bar along the top row, a stem down the middle column.
  for (let x = 2; x <= 6; x++) assert(ink(x, 3), `top bar at (${x}, 3)`);
  for (let y = 4; y <= 9; y++) assert(ink(4, y), `stem at (4, ${y})`);
  assert(!ink(2, 4) && !ink(6, 9) && !ink(1, 3) && !ink(7, 3) && !ink(4, 10), "nothing around it");
  let count = 0;
  for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) if (ink(x, y)) count++;
  assertEquals(count, 5 + 6);

  // Rotated 90° counter-clockwise at (20, 25): "L"'s stem runs rightwards along y = 24 and its foot upwards at x = 26.
  const r = new Canvas(40, 30);
  r.text("L", 20, 25, { rotate: true });
  const rink = (x: number, y: number) => r.getPixel(x, y)[0] < 128;
  for (let d = 0; d <= 6; d++) assert(rink(20 + d, 24), `stem at (${20 + d}, 24)`);
  for (let a = 0; a <= 4; a++) assert(rink(26, 24 - a), `foot at (26, ${24 - a})`);
  assert(!rink(19, 24) && !rink(27, 24) && !rink(25, 23), "nothing else");

  // Alignment and measurement: right-aligned text ends at x, scale multiplies the advance.
  assertEquals(Canvas.measureText("ab", 2).width, (2 * GLYPH_ADVANCE - 1) * 2);
  const a = new Canvas(60, 20);
  const w = a.text("11", 50, 2, { align: "right" });
  assertEquals(w, 11);
  let maxX = -1;
  for (let y = 0; y < 20; y++) {
    for (let x = 0; x < 60; x++) if (a.getPixel(x, y)[0] < 128) maxX = Math.max(maxX, x);
  }
  assert(maxX <= 49 && maxX >= 47, `right edge ${maxX}`);
});

Deno.test("the font has a glyph of its own for every printable ASCII character", () => {
  for (let c = 32; c <= 126; c++) {
    assert(hasGlyph(String.fromCharCode(c)), `glyph for ${String.fromCharCode(c)}`);
  }
  for (const ch of "σμ±×−") assert(hasGlyph(ch), ch);
});

Deno.test("nice ticks: 1-2-5 steps covering the range; log ticks; consistent labels", () => {
  assertEquals(niceNumber(0.37, true), 0.5);
  assertEquals(niceNumber(37, false), 50);
  assertEquals(niceTicks(0, 1).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assertEquals(niceTicks(-3, 3).values, [-4, -2, 0, 2, 4]);
  assertEquals(niceTicks(1234, 5678).values, [1000, 2000, 3000, 4000, 5000, 6000]);
  assertEquals(autoTicks({ min: -3, max: 3 }, 5), [-2, 0, 2]);
  for (const [lo, hi] of [[0.013, 0.087], [-7.3, 112], [1e-5, 3e-5], [5, 5]]) {
    const t = niceTicks(lo, hi, 5);
    assert(t.min <= lo && t.max >= hi, `[${t.min}, ${t.max}] covers [${lo}, ${hi}]`);
    const m = t.step / 10 ** Math.floor(Math.log10(t.step));
    assert([1, 2, 5].some((k) => Math.abs(m - k) < 1e-9), `step ${t.step} is 1, 2 or 5 × 10^k`);
    assert(t.values.length >= 2 && t.values.length <= 11, `${t.values.length} ticks`);
  }
  assertEquals(logTicks(0.003, 0.4), [0.005, 0.01, 0.02, 0.05, 0.1, 0.2]);
  assertEquals(logTicks(1e-6, 1), [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1]);
  assertEquals(formatTick(0.30000000000000004, 0.1), "0.3");
  assertEquals(formatTick(-2, 1), "−2");
  assertEquals(formatTick(0.00001, 0.00001), "1e−5");
  const f = tickFormatter([0, 0.25, 0.5]);
  assertEquals([f(0), f(0.25), f(0.5)], ["0.00", "0.25", "0.50"]);
  assertEquals(tickFormatter([-0.04, 0, 0.04])(-0), "0.00");
  assertEquals(tickFormatter([1e-3, 1e-2], true)(1e-5), "1e−5");
  assertEquals(formatNumber(0.0123456), "0.01235");
  assertEquals(formatNumber(-2.5e-6), "−2.5e−6");
});

Deno.test("blending: half-transparent black over white is mid grey, and the clip is respected", () => {
  const c = new Canvas(4, 4);
  c.blendPixel(1, 1, [0, 0, 0, 0.5]);
  assertNear(c.getPixel(1, 1)[0], 127.5, 1);
  assertEquals(c.getPixel(1, 1)[3], 255);
  c.withClip({ x: 0, y: 0, width: 2, height: 2 }, () => c.fillRect(0, 0, 4, 4, BLACK));
  assertEquals(c.getPixel(1, 1).slice(0, 3), [0, 0, 0]);
  assertEquals(c.getPixel(2, 2).slice(0, 3), [255, 255, 255]);
  // A translucent polyline paints its joint once, not twice.
  const p = new Canvas(20, 20);
  p.polyline([[2, 10.5], [10, 10.5], [10, 2]], parseColor("#000000", 0.5), { width: 1 });
  assertNear(p.getPixel(9, 10)[0], 127.5, 1);
});

function inkFraction(png: Uint8Array): number {
  const img = decodePng(png);
  let ink = 0;
  for (let i = 0; i < img.data.length; i += img.channels) {
    if (img.data[i] < 200 || img.data[i + 1] < 200 || img.data[i + 2] < 200) ink++;
  }
  return ink / (img.width * img.height);
}

Deno.test("corner plot, line chart and image grid render to non-blank PNGs of the expected layout", () => {
  const n = 400, d = 3;
  const pts = new Float32Array(n * d).map((_, i) => Math.sin(i * 1.7) * 2);
  const corner = cornerPlot({
    title: "test",
    layers: [{ name: "a", points: { shape: [n, d], data: pts } }],
    range: [-3, 3],
    cellSize: 120,
  });
  const cornerPng = corner.toPng();
  const h = readPngHeader(cornerPng);
  assert(h.width > 3 * 120 && h.height > 3 * 120, `corner ${h.width}×${h.height}`);
  const inkCorner = inkFraction(cornerPng);
  assert(inkCorner > 0.02 && inkCorner < 0.6, `corner ink ${inkCorner}`);

  const chart = lineChart({
    series: [{ name: "em", points: [[0, 1], [1, 0.3], [2, 0.1]] }, { name: "neg", points: [[0, -1]] }],
    references: [{ name: "gauss", value: 2 }],
    logY: true,
    title: "t",
  }).toPng();
  const inkChart = inkFraction(chart);
  assert(inkChart > 0.01 && inkChart < 0.5, `chart ink ${inkChart}`);

  const grid = imageGrid({
    images: { shape: [6, 8, 8], data: new Float32Array(6 * 64).map((_, i) => i % 7) },
    columns: 3,
    rowLabels: ["a", "b"],
    zoom: 3,
  });
  assert(grid.width >= 3 * 24 && grid.height >= 2 * 24, `grid ${grid.width}×${grid.height}`);
  assert(inkFraction(grid.toPng()) > 0.1, "grid has images");
});
