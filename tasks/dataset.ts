/**
 * `dataset`: where the data comes from.
 * - `source: manifold` — the paper's synthetic benchmark; writes the clean samples `x` (for
 *   evaluation only: the EM stages never read them) and their latent coordinates `z`.
 * - `source: mnist` / `fashion-mnist` — labelled images (datasets/mnist.ts, datasets/fashion_mnist.ts): the
 *   first `samples` images of `split` (train | test), optionally area-averaged to `size` × `size`; writes
 *   `x` `[N, S, S, 1]` float32 in [−1, 1] and `labels` `[N]` int32.
 * - `source: zarr` — a researcher's own observations (y, operator parameters, σ_y) from a Zarr
 *   group; writes observations in the store's layout (see observations.ts), and `x` when the
 *   group has a ground truth.
 *
 * @module
 */
import { z } from "zod";
import { smoothManifold } from "../datasets/manifold.ts";
import { loadMnist } from "../datasets/mnist.ts";
import { loadFashionMnist } from "../datasets/fashion_mnist.ts";
import { SPLIT_SIZES } from "../datasets/_images.ts";
import { InvalidObservationsError, readZarrObservations } from "../datasets/zarr_observations.ts";
import { StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
import { writeObservations } from "./_observations.ts";

const imageSources = ["mnist", "fashion-mnist"];

const params = z.object({
  source: z.enum(["manifold", "zarr", "mnist", "fashion-mnist"]).default("manifold"),
  /** manifold: number of samples; mnist, fashion-mnist: the first N images of the split. */
  samples: z.number().int().positive().max(1e8).default(4096),
  /** mnist, fashion-mnist: `train` (60 000 images) or `test` (10 000); default train. */
  split: z.enum(["train", "test"]).optional(),
  /** mnist, fashion-mnist: side of the area-averaged images, a divisor of 28; default 28. */
  size: z.number().int().positive().refine((s) => 28 % s === 0, "size must divide 28 (1, 2, 4, 7, 14 or 28)")
    .optional(),
  /** manifold: ambient dimension D. */
  features: z.number().int().positive().max(1e5).default(5),
  /** manifold: manifold dimension d. */
  manifold_dim: z.number().int().positive().default(1),
  /** zarr: path of the group, relative to the spec file. */
  path: z.string().optional(),
}).refine((p) => p.source !== "zarr" || p.path, {
  message: "source zarr needs `path:` (the Zarr group of observations)",
  path: ["path"],
}).refine((p) => imageSources.includes(p.source) || (p.split === undefined && p.size === undefined), {
  message: "`split` and `size` apply to the image sources only (mnist, fashion-mnist)",
  path: ["split"],
}).refine((p) => !imageSources.includes(p.source) || p.samples <= SPLIT_SIZES[p.split ?? "train"], {
  message: `samples exceeds the split (${SPLIT_SIZES.train} train images, ${SPLIT_SIZES.test} test images)`,
  path: ["samples"],
});

function resolve(path: string, baseDir: string): string {
  return path.startsWith("/") ? path : `${baseDir}/${path}`;
}

async function fileFingerprint(root: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (dir: string, rel: string) => {
    const entries = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = `${dir}/${e.name}`, r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p, r);
      else {
        const st = await Deno.stat(p);
        parts.push(`${r}:${st.size}:${st.mtime?.getTime() ?? 0}`);
      }
    }
  };
  try {
    await walk(root, "");
  } catch (e) {
    return `unreadable:${(e as Error).message}`;
  }
  return parts.join("\n");
}

/** The dataset task. */
export const datasetTask: TaskDef<typeof params> = {
  name: "dataset",
  version: 1,
  description:
    "synthetic manifold samples, MNIST or Fashion-MNIST images, or a researcher's observations from Zarr",
  params,
  inputs: {},
  fingerprint(p, baseDir) {
    return p.source === "zarr" ? fileFingerprint(resolve(p.path!, baseDir)) : Promise.resolve("");
  },
  async run(ctx) {
    const p = ctx.params;
    if (p.source === "manifold") {
      const { x, z: latent } = smoothManifold({
        samples: p.samples,
        features: p.features,
        manifoldDim: p.manifold_dim,
        seed: ctx.seed,
      });
      await ctx.writeArray("x", x);
      await ctx.writeArray("z", latent);
      ctx.metrics({ samples: p.samples, features: p.features });
      return;
    }
    if (p.source === "mnist" || p.source === "fashion-mnist") {
      const load = p.source === "mnist" ? loadMnist : loadFashionMnist;
      const { x, labels } = await load({ split: p.split ?? "train", samples: p.samples, size: p.size });
      await ctx.writeArray("x", x);
      await ctx.writeArray("labels", labels);
      ctx.metrics({ samples: x.shape[0], height: x.shape[1], width: x.shape[2] });
      ctx.log(`${p.source}: ${x.shape[0]} ${p.split ?? "train"} images of ${x.shape[1]} × ${x.shape[2]}`);
      return;
    }
    const path = resolve(p.path!, ctx.baseDir);
    const obs = await readZarrObservations(path).catch((e) => {
      // The group is the researcher's to fix: the engine prints the message alone (datasets/ knows no engine).
      if (!(e instanceof InvalidObservationsError)) throw e;
      const where = e.message.includes(path) ? "" : ` ${path}:`;
      throw new StageMismatchError(`dataset:${where} ${e.message}`, { cause: e });
    });
    const n = obs.y.shape[0];
    await writeObservations(
      ctx,
      { kind: obs.kind, config: obs.config, sigma_y: obs.sigmaY, n },
      obs.y,
      obs.params,
    );
    if (obs.x) await ctx.writeArray("x", obs.x);
    ctx.metrics({ observations: n, zarr_format: obs.zarrFormat });
    ctx.log(`read ${n} ${obs.kind} observations from ${path}`);
  },
};
