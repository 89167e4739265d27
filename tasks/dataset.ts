/**
 * `dataset`: where the data comes from.
 * - `source: manifold` — the paper's synthetic benchmark; writes the clean samples `x` (for
 *   evaluation only: the EM stages never read them) and their latent coordinates `z`.
 * - `source: zarr` — a researcher's own observations (y, operator parameters, σ_y) from a Zarr
 *   group; writes observations in the store's layout (see observations.ts), and `x` when the
 *   group has a ground truth.
 *
 * @module
 */
import { z } from "zod";
import { smoothManifold } from "../datasets/manifold.ts";
import { readZarrObservations } from "../datasets/zarr_observations.ts";
import type { TaskDef } from "../lib/engine/mod.ts";
import { writeObservations } from "./_observations.ts";

const params = z.object({
  source: z.enum(["manifold", "zarr"]).default("manifold"),
  /** manifold: number of samples. */
  samples: z.number().int().positive().max(1e8).default(4096),
  /** manifold: ambient dimension D. */
  features: z.number().int().positive().max(1e5).default(5),
  /** manifold: manifold dimension d. */
  manifold_dim: z.number().int().positive().default(1),
  /** zarr: path of the group, relative to the spec file. */
  path: z.string().optional(),
}).refine((p) => p.source !== "zarr" || p.path, {
  message: "source zarr needs `path:` (the Zarr group of observations)",
  path: ["path"],
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
  description: "synthetic manifold samples, or a researcher's observations from a Zarr group",
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
    const path = resolve(p.path!, ctx.baseDir);
    const obs = await readZarrObservations(path);
    const config: Record<string, unknown> = { xShape: obs.xShape };
    if (obs.kind === "projection") config.m = obs.params.matrices.shape.at(-2);
    if (obs.kind === "mask") {
      const m = obs.params.mask.data;
      let kept = 0;
      for (let i = 0; i < m.length; i++) kept += m[i] ? 1 : 0;
      config.keep = kept / m.length;
    }
    if (obs.kind === "blur") config.kernel = Array.from(obs.params.kernel.data);
    const n = obs.y.shape[0];
    await writeObservations(ctx, { kind: obs.kind, config, sigma_y: obs.sigmaY, n }, obs.y, obs.params);
    if (obs.x) await ctx.writeArray("x", obs.x);
    ctx.metrics({ observations: n, zarr_format: obs.zarrFormat });
    ctx.log(`read ${n} ${obs.kind} observations from ${path}`);
  },
};
