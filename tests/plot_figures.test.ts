/**
 * lib/plot on Vega-Lite, resvg and fast-png: curve specs (a series per method, the mean ± se band,
 * baselines), corner specs (panels, thinning, non-finite rows), SVG rendered without a DOM, PNG
 * rendered the same every time with the shipped font, image mosaics exact to the pixel.
 */
import {
  cornerSpec,
  curveSpec,
  decodePng,
  imageGrid,
  imageMosaic,
  pngSize,
  renderSvg,
  svgToPng,
} from "../lib/plot/mod.ts";
import { assert, assertEquals, assertNear } from "./assert.ts";

const SERIES = [
  {
    name: "em",
    color: "#1f77b4",
    points: [0, 1, 2].map((k) => ({
      lap: k,
      value: 1 / (k + 1),
      mean: 1.1 / (k + 1),
      se: 0.5,
      stage: `em[${k}].e`,
    })),
  },
  { name: "diffem", color: "#ff7f0e", points: [{ lap: 0, value: 0.5, stage: "diffem[0].e" }] },
];
const BASELINE = [{ name: "gauss", color: "#2ca02c", value: 2, stage: "gauss" }];

type Rows = { series: string; lo: number | null; hi: number | null; value: number }[];

Deno.test("curve spec: mean ± se bands where given, none under log where mean − se ≤ 0; SVG with a line per method", async () => {
  const spec = curveSpec({
    title: "t",
    metric: "sinkhorn",
    series: SERIES,
    baselines: BASELINE,
    logY: false,
  });
  const rows = (spec as { data: { values: Rows } }).data.values;
  const em = rows.filter((r) => r.series === "em");
  em.forEach((r, k) => {
    assertNear(r.lo!, 1.1 / (k + 1) - 0.5, 1e-12);
    assertNear(r.hi!, 1.1 / (k + 1) + 0.5, 1e-12);
  });
  assertEquals(rows.find((r) => r.series === "diffem")!.lo, null, "no se, no band");
  assertEquals(rows.filter((r) => r.series === "gauss").map((r) => r.value), [2]);
  const log = curveSpec({ title: "t", metric: "sinkhorn", series: SERIES, baselines: [], logY: true });
  const logRows = (log as { data: { values: Rows } }).data.values.filter((r) => r.series === "em");
  assertEquals(logRows.map((r) => r.lo !== null), [true, true, false], "1.1/3 − 0.5 ≤ 0: no band at lap 2");
  const svg = await renderSvg(spec);
  const lines = [...svg.matchAll(/<g class="mark-line role-mark[^>]*><path [^>]*stroke="(#[0-9a-f]{6})"/g)];
  assertEquals(lines.map((m) => m[1]), ["#1f77b4", "#ff7f0e"], "a line per method, in its colour");
  assert(/class="mark-area role-mark/.test(svg), "the band is drawn");
  assert(/class="mark-rule role-mark/.test(svg), "the baseline is drawn");
});

Deno.test("PNG from SVG: the same bytes every time, scaled, with text drawn by the shipped font", async () => {
  const text =
    `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><text x="4" y="28" font-size="24">Lap 3</text></svg>`;
  const blank = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"></svg>`;
  const a = await svgToPng(text, 2), b = await svgToPng(text, 2);
  assertEquals([...a], [...b], "deterministic");
  assertEquals(pngSize(a), { width: 240, height: 80 });
  const dark = (png: Uint8Array) => {
    const img = decodePng(png);
    let n = 0;
    for (let i = 0; i < img.data.length; i += img.channels) if (img.data[i] < 128) n++;
    return n;
  };
  assert(dark(a) > 200, `text pixels: ${dark(a)}`);
  assertEquals(dark(await svgToPng(blank, 2)), 0);
});

Deno.test("corner spec: a histogram per feature and a zoomable scatter per pair, thinned, non-finite rows dropped", async () => {
  const n = 500, d = 3;
  const data = new Float32Array(n * d).map((_, i) => Math.sin(i));
  data[7] = NaN;
  const spec = cornerSpec({
    title: "c",
    layers: [{ name: "samples", points: { shape: [n, d], data }, color: "#1f77b4" }],
    range: [-2, 2],
    maxPoints: 100,
    maxFeatures: 8,
  }) as unknown as {
    data: { values: Record<string, number>[] };
    vconcat: { hconcat: { mark: { type: string } }[] }[];
  };
  assertEquals(spec.vconcat.map((r) => r.hconcat.map((c) => c.mark.type)), [
    ["bar"],
    ["circle", "bar"],
    ["circle", "circle", "bar"],
  ]);
  assert(spec.data.values.length <= 100 && spec.data.values.length >= 99, `${spec.data.values.length} rows`);
  assert(
    spec.data.values.every((r) => Number.isFinite(r.x0) && Number.isFinite(r.x1) && Number.isFinite(r.x2)),
  );
  const svg = await renderSvg(spec as never);
  assertEquals(svg.match(/class="mark-symbol role-mark/g)?.length, 3, "three scatter panels");
});

Deno.test("image mosaic: exact pixels with zoom and gaps; grid figure a PNG around it", async () => {
  // Two 1×2 grey images, values 0..1: [0, 1] and [0.5, NaN].
  const images = { shape: [2, 1, 2], data: new Float32Array([0, 1, 0.5, NaN]) };
  const { png, width, height } = imageMosaic({ images }, 2, 2, 1, [0, 1]);
  assertEquals([width, height], [2 * 2 * 2 + 1, 2]);
  const img = decodePng(png);
  assertEquals([img.width, img.height, img.channels], [9, 2, 3]);
  const px = (x: number, y: number) => [...img.data.slice((y * 9 + x) * 3, (y * 9 + x) * 3 + 3)];
  assertEquals([px(0, 0), px(1, 1), px(2, 0), px(3, 1)], [[0, 0, 0], [0, 0, 0], [255, 255, 255], [
    255,
    255,
    255,
  ]]);
  assertEquals(px(4, 0), [255, 255, 255], "the gap");
  assertEquals(
    [px(5, 0), px(6, 1), px(7, 0)],
    [[128, 128, 128], [128, 128, 128], [255, 0, 255]],
    "NaN is magenta",
  );
  const grid = await imageGrid({ images, columns: 2, zoom: 2, gap: 1, title: "grid", rowLabels: ["lap 0"] });
  assert(pngSize(grid).width > width && pngSize(grid).height > height);
});
