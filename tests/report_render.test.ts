/**
 * The report (lib/report and its task): grouping evaluations into methods (loops) and baselines,
 * choosing the laps that get corner plots, its outputs with fake inputs in-process, and a real
 * pipeline through the CLI whose report.html is opened in headless Chromium to check that every
 * picture loads.
 */
import type { InputEntry } from "../lib/engine/mod.ts";
import { decodePng, pngSize } from "../lib/plot/mod.ts";
import { type Evaluation, groupEvaluations, selectCornerLaps } from "../lib/report/mod.ts";
import { reportTask } from "../tasks/report.ts";
import { fakeContext, fakeEntry, points } from "./report_fakes.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, scratch, show } from "./cli_helpers.ts";

/** An evaluation placed by the engine: in a loop at a lap as one of its body stages, or top-level. */
function evaluation(stageId: string, at?: [loop: string, lap: number, stage: string]): Evaluation {
  return { stageId, loop: at?.[0] ?? null, lap: at?.[1] ?? null, stage: at?.[2] ?? null, metrics: {} };
}

Deno.test("evaluations group into methods by loop with sorted laps, and baselines, in spec order", () => {
  const evaluations = [
    evaluation("gauss_eval"),
    evaluation("em[1].evaluate", ["em", 1, "evaluate"]),
    evaluation("em[0].evaluate", ["em", 0, "evaluate"]),
    evaluation("diffem[0].evaluate", ["diffem", 0, "evaluate"]),
    evaluation("two[0].a", ["two", 0, "a"]),
    evaluation("two[0].b", ["two", 0, "b"]),
    evaluation("two[1].a", ["two", 1, "a"]),
    evaluation("em[1].evaluate", ["em", 1, "evaluate"]),
    evaluation("oracle"),
  ];
  const { methods, baselines } = groupEvaluations(evaluations);
  assertEquals(methods.map((m) => [m.name, m.laps.map((l) => l.lap)]), [["em", [0, 1]], ["diffem", [0]], [
    "two.a",
    [0, 1],
  ], ["two.b", [0]]]);
  assertEquals(baselines.map((b) => b.name), ["gauss_eval", "oracle"]);
  assertEquals(methods[0].laps[1].entry.stageId, "em[1].evaluate", "a stage wired twice counts once");
});

Deno.test("the loop and lap an evaluation carries place it, not the look of its stage id", () => {
  const { methods, baselines } = groupEvaluations([
    evaluation("looks[0].like_a_lap"),
    evaluation("em_lap_2", ["em", 2, "evaluate"]),
  ]);
  assertEquals(baselines.map((b) => b.name), ["looks[0].like_a_lap"]);
  assertEquals(methods.map((m) => [m.name, m.laps.map((l) => l.lap)]), [["em", [2]]]);
});

Deno.test("corner laps: all up to 16, thinned plus the last beyond, last, and explicit (negative from the end)", () => {
  const laps = (n: number) => Array.from({ length: n }, (_, i) => i);
  assertEquals(selectCornerLaps(laps(16), "auto"), laps(16));
  const many = selectCornerLaps(laps(40), "auto");
  assert(many.length <= 17 && many[0] === 0 && many.at(-1) === 39, `auto of 40: ${many}`);
  assertEquals(selectCornerLaps(laps(5), "last"), [4]);
  assertEquals(selectCornerLaps(laps(5), "all"), laps(5));
  assertEquals(selectCornerLaps(laps(5), [0, 2, -1, 9]), [0, 2, 4]);
  assertEquals(selectCornerLaps([], "auto"), []);
});

Deno.test("report in-process: files per method and lap, metrics, and an HTML page embedding every picture", async () => {
  const entries: InputEntry[] = [
    fakeEntry("gauss_eval", { sinkhorn: 0.9, mean_error: 0.3 }, { subset: points(200, 2, 0.8) }),
  ];
  for (let k = 0; k < 18; k++) {
    entries.push(
      fakeEntry(`em[${k}].evaluate`, {
        sinkhorn: 0.8 / (k + 1),
        sinkhorn_converged: true,
        mean_error: 0.2 / (k + 1),
      }, { subset: points(200, 2, 0.5 / (k + 1)) }),
    );
  }
  for (let k = 0; k < 3; k++) {
    entries.push(
      fakeEntry(`diffem[${k}].evaluate`, { sinkhorn: 0.5 / (k + 1), sinkhorn_converged: k > 0 }, {
        subset: points(200, 2, 0.3),
      }),
    );
  }
  entries.push(fakeEntry("nosamples", { sinkhorn: -0.01 }, {}));
  const truth = fakeEntry("data", {}, { x: points(300, 2, 0) });

  const { ctx, files, metrics } = fakeContext({ range: [-3, 3], max_points: 150 }, entries, truth);
  await reportTask.run(ctx);

  // 18 laps > 16: every 2nd lap and the last; 3 laps: all of them; baselines with samples.
  const emLaps = [0, 2, 4, 6, 8, 10, 12, 14, 16, 17];
  const expected = [
    "sinkhorn.png",
    "mean_error.png",
    "corner_gauss_eval.png",
    ...emLaps.map((k) => `corner_em_lap${k}.png`),
    ...[0, 1, 2].map((k) => `corner_diffem_lap${k}.png`),
    "report.html",
  ];
  assertEquals([...files.keys()].sort(), expected.sort());
  for (const [name, bytes] of files) {
    if (!name.endsWith(".png")) continue;
    const img = decodePng(bytes);
    assert(img.width > 200 && img.height > 200, `${name}: ${img.width}×${img.height}`);
  }
  assertEquals(metrics.final_sinkhorn, { em: 0.8 / 18, diffem: 0.5 / 3, gauss_eval: 0.9, nosamples: -0.01 });
  assertEquals(metrics.laps, { em: 18, diffem: 3 });

  const html = new TextDecoder().decode(files.get("report.html"));
  // Corner plots are embedded as PNG, curves as inline SVG; every figure's spec is in the page.
  const uris = [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => m[1]);
  assertEquals(uris.length, expected.filter((f) => f.startsWith("corner_")).length, "every corner plot once");
  for (const b64 of uris) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    assert(pngSize(bytes).width > 0);
  }
  const inlineSvgs = [...html.matchAll(/<div class="vl-target"><svg /g)].length;
  assertEquals(inlineSvgs, 2, "sinkhorn and mean_error as inline SVG");
  const specs = JSON.parse(
    html.match(/<script type="application\/json" id="report-specs">(.*?)<\/script>/s)![1],
  );
  assertEquals(Object.keys(specs).sort(), expected.filter((f) => f.endsWith(".png")).sort());
  assertMatch(
    html,
    /<h3>Lap 2<\/h3><div class="row"><figure data-vl="corner_em_lap2.png" data-lazy>[^]*?data-vl="corner_diffem_lap2.png"/,
    "methods side by side at one lap",
  );
  assertMatch(html, /No samples \(<code>subset<\/code>\) to plot for: <code>nosamples<\/code>/);
  assertMatch(html, />em<\/td><td>17<\/td><td><code>em\[17\]\.evaluate<\/code>/, "a table row per lap");
  const markup = html.replace(/<script>[^]*?<\/script>/g, "<script></script>");
  assert(!/src="(?!data:)/.test(markup) && !/<link/.test(markup), "no external resources");
  assertEquals(
    [...html.matchAll(/<script>/g)].length,
    4,
    "vega, vega-lite, vega-embed and the boot code inline",
  );
  assert(!/sourceMappingURL/.test(html), "no links to source maps");
});

function findChromium(): string | null {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/**
 * What the probe reads off the page in Chromium: console errors, whether the sinkhorn chart went
 * live, its series (line paths) and points, the tooltip after hovering a point, the lines' opacity
 * before and after clicking the first legend entry, the images, and a corner plot's axis labels
 * before and after a wheel zoom on its "Explore" view.
 */
interface PageProbe {
  errors: string[];
  live: boolean;
  lines: number;
  points: number;
  tooltip: { visible: boolean; text: string } | null;
  opacity: [string[], string[]];
  images: [boolean, string][];
  widths: number[];
  cornerLive: boolean | null;
  ticks: [string, string] | null;
}

/** The probe, run in the page once it has loaded: it drives the page as a user would, with DOM events. */
const PROBE = `<script>
window.__errors = [];
const consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.map(String).join(" ")); consoleError(...a); };
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const at = (el) => { const b = el.getBoundingClientRect(); return { clientX: b.x + b.width / 2, clientY: b.y + b.height / 2, bubbles: true }; };
const fire = (el, types) => { for (const t of types) el.dispatchEvent(new (t.startsWith("pointer") ? PointerEvent : MouseEvent)(t, at(el))); };
const opacities = (fig) => [...fig.querySelectorAll("g.mark-line path")].map((p) => p.getAttribute("opacity") ?? "1");
window.addEventListener("load", async () => {
  const out = { errors: window.__errors, cornerLive: null, ticks: null };
  const fig = document.querySelector('figure[data-vl="sinkhorn.png"]');
  for (let i = 0; i < 100 && !fig.hasAttribute("data-live"); i++) await sleep(100);
  out.live = fig.hasAttribute("data-live");
  out.lines = fig.querySelectorAll("g.mark-line path").length;
  out.points = fig.querySelectorAll("g.mark-symbol path").length;
  fire(fig.querySelector("g.mark-symbol path"), ["pointerover", "pointermove", "mouseover", "mousemove"]);
  await sleep(300);
  const tip = document.getElementById("vg-tooltip-element");
  out.tooltip = tip && { visible: tip.classList.contains("visible"), text: tip.textContent };
  const before = opacities(fig);
  fire(fig.querySelector("g.role-legend-symbol path"), ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]);
  await sleep(300);
  out.opacity = [before, opacities(fig)];
  out.images = [...document.images].map((i) => [i.complete && i.naturalWidth > 0, i.title]);
  out.widths = [...document.images].map((i) => i.naturalWidth);
  const corner = document.querySelector("figure[data-lazy]");
  if (corner) {
    corner.querySelector("button.explore").click();
    for (let i = 0; i < 100 && !corner.hasAttribute("data-live"); i++) await sleep(100);
    out.cornerLive = corner.hasAttribute("data-live");
    const labels = () => [...corner.querySelectorAll("g.role-axis-label text")].slice(0, 8).map((t) => t.textContent).join(" ");
    const before = labels();
    const point = corner.querySelector("g.mark-symbol path");
    point.dispatchEvent(new WheelEvent("wheel", { ...at(point), deltaY: -300, cancelable: true }));
    await sleep(400);
    out.ticks = [before, labels()];
  }
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>`;

/** Open `html` (written into `dir`) in headless Chromium with {@link PROBE}; what the probe saw. */
async function probeInChromium(chromium: string, html: string, dir: string): Promise<PageProbe> {
  const page = `${dir}/check.html`;
  await Deno.writeTextFile(page, html.replace('<meta charset="utf-8">', `<meta charset="utf-8">${PROBE}`));
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  const out = await new Deno.Command(chromium, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--window-size=1400,1000",
      `--user-data-dir=${profile}`,
      "--virtual-time-budget=30000",
      "--dump-dom",
      `file://${page}`,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  await Deno.remove(profile, { recursive: true }).catch(() => {});
  const dom = new TextDecoder().decode(out.stdout);
  const m = dom.match(/<pre id="probe">(.*?)<\/pre>/s);
  assert(
    m,
    `no result from the page (exit ${out.code}): ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
  );
  return JSON.parse(
    m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"),
  );
}

/**
 * The checks of a report page in a browser: no console errors; the curves live with one series per
 * method; a tooltip with the lap, value and stage on hover; a legend click that dims the other series;
 * every image loaded; a corner plot that goes live and zooms.
 */
function assertInteractive(probe: PageProbe, methods: string[], images: number): void {
  assertEquals(probe.errors, [], "console errors");
  assert(probe.live, "the sinkhorn chart went live");
  assertEquals(probe.lines, methods.length, "one series per method");
  assert(probe.points > 0, "points on the curves");
  assert(probe.tooltip?.visible, `tooltip on hover: ${JSON.stringify(probe.tooltip)}`);
  assertMatch(
    probe.tooltip!.text,
    new RegExp(`method${methods[0]}lap0sinkhorn[0-9.e−-]+stage${methods[0]}\\[0\\]`),
  );
  assertEquals(probe.opacity[0], methods.map(() => "1"), "every series shown before a legend click");
  assertEquals(
    probe.opacity[1],
    methods.map((_, i) => i === 0 ? "1" : "0.12"),
    "only the clicked series after",
  );
  assertEquals(probe.images.filter(([ok]) => !ok), [], "images that did not load");
  assertEquals(probe.images.length, images, "corner plots as images");
  assert(probe.widths.every((w) => w > 300), `natural widths ${probe.widths}`);
  assert(probe.cornerLive, "a corner plot goes live on its button");
  assert(probe.ticks && probe.ticks[0] !== probe.ticks[1], `zoom changes the axis: ${probe.ticks}`);
}

Deno.test("the page in headless Chromium: two methods with bands and a baseline, hover, legend, zoom", async () => {
  const chromium = findChromium();
  if (!chromium) {
    console.warn("%cSKIPPED: chromium not installed (apt-get install chromium)", "color: yellow");
    return;
  }
  const entries = [fakeEntry("gauss_eval", { sinkhorn: 0.9 }, { subset: points(200, 3, 0.8) })];
  for (let k = 0; k < 3; k++) {
    const metrics = { sinkhorn: 0.8 / (k + 1), sinkhorn_mean: 0.82 / (k + 1), sinkhorn_se: 0.05 };
    entries.push(fakeEntry(`em[${k}].evaluate`, metrics, { subset: points(200, 3, 0.5 / (k + 1)) }));
    entries.push(
      fakeEntry(`diffem[${k}].evaluate`, { sinkhorn: 0.5 / (k + 1) }, { subset: points(200, 3, 0.3) }),
    );
  }
  const { ctx, files } = fakeContext({ corner_laps: "last", curves: ["sinkhorn"] }, entries, null);
  await reportTask.run(ctx);
  const html = new TextDecoder().decode(files.get("report.html"));
  assertMatch(html, /band: mean ± standard error/);
  const dir = await Deno.makeTempDir({ prefix: "report-page-" });
  assertInteractive(await probeInChromium(chromium, html, dir), ["em", "diffem"], 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a real pipeline's report.html loads every picture in headless Chromium", async () => {
  const evaluate = "{ sinkhorn_samples: 64, sinkhorn_maxiter: 100 }";
  const dir = await scratch(`
store: store
seed: 3
stages:
  data: { task: dataset, params: { source: manifold, samples: 300, features: 5, manifold_dim: 1 } }
  obs: { task: corrupt, inputs: { x: data }, params: { operator: { kind: projection, m: 2 }, sigma_y: 0.01 } }
  gauss: { task: fit-gaussian, inputs: { obs: obs }, params: { max_iterations: 4 } }
  posterior: { task: sample-posterior, inputs: { obs: obs, prior: gauss } }
  gauss_eval: { task: evaluate, inputs: { samples: posterior, truth: data }, params: ${evaluate} }
  em:
    loop: { laps: 2 }
    stages:
      post: { task: sample-posterior, inputs: { obs: obs, prior: gauss } }
      evaluate: { task: evaluate, inputs: { samples: post, truth: data }, params: ${evaluate} }
  report:
    task: report
    inputs: { evaluations: ["em[*].evaluate", gauss_eval], truth: data }
    params: { range: [-3, 3], curves: [sinkhorn] }
`);
  const r = await cli(dir, "run");
  assertEquals(r.code, 0, r.stderr);
  const manifest = await show(dir, "report");
  const entry = manifest.entry as string;
  const names = [...Deno.readDirSync(`${entry}/files`)].map((e) => e.name).sort();
  assertEquals(names, [
    "corner_em_lap0.png",
    "corner_em_lap1.png",
    "corner_gauss_eval.png",
    "report.html",
    "sinkhorn.png",
  ]);
  assertEquals(
    Object.keys((manifest.metrics as { final_sinkhorn: Record<string, number> }).final_sinkhorn).sort(),
    ["em", "gauss_eval"],
  );

  const chromium = findChromium();
  if (!chromium) {
    console.warn(
      "%cSKIPPED: chromium not installed — report.html was not opened in a browser (apt-get install chromium)",
      "color: yellow",
    );
    return;
  }
  const html = await Deno.readTextFile(`${entry}/files/report.html`);
  assertInteractive(await probeInChromium(chromium, html, dir), ["em"], 3);
});
