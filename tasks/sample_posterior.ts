/**
 * `sample-posterior`: one sample of q(x | y_i) per observation, in shards; every finished shard
 * is checkpointed, so an interrupted E-step resumes where it stopped. Row i always draws from its
 * own random stream, so results do not depend on the shard size.
 *
 * The prior comes from the `prior` input: a `fit-gaussian` stage gives exact closed-form
 * posterior samples (projection and mask operators).
 *
 * @module
 */
import { z } from "zod";
import { priorFromArrays, sampleGaussianPosterior } from "../lib/posterior/gaussian.ts";
import type { TaskDef } from "../lib/pipeline/task.ts";
import { readObservations } from "./observations.ts";

const params = z.object({
  /** Observations per shard (the unit of checkpointing). */
  shard_size: z.number().int().positive().default(4096),
});

/** The sample-posterior task. */
export const samplePosteriorTask: TaskDef<typeof params> = {
  name: "sample-posterior",
  version: 1,
  description: "sample the posterior of every observation under the prior (sharded, resumable)",
  params,
  inputs: {
    obs: { description: "observations (corrupt, or dataset with source zarr)" },
    prior: { description: "the prior: a fit-gaussian stage" },
  },
  async run(ctx) {
    const { shard_size } = ctx.params;
    const obs = await readObservations(ctx.input("obs"));
    const priorEntry = ctx.input("prior");
    if (priorEntry.task !== "fit-gaussian") {
      throw new Error(
        `sample-posterior: prior ${priorEntry.stageId} comes from task ${priorEntry.task}; expected fit-gaussian`,
      );
    }
    const prior = priorFromArrays(await priorEntry.array("mean"), await priorEntry.array("cov"));
    const n = obs.y.shape[0];
    const d = obs.family.xShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(n * d);
    const shards = Math.ceil(n / shard_size);
    const done = new Set(await ctx.checkpoints.list());
    ctx.progress.start(n, "obs", 0, "posterior");
    for (let s = 0; s < shards; s++) {
      const start = s * shard_size, stop = Math.min(n, start + shard_size);
      const slot = `shard-${String(s).padStart(5, "0")}`;
      if (done.has(slot)) {
        const saved = (await ctx.checkpoints.load(slot))!;
        out.set(saved.arrays.x.data as Float32Array, start * d);
      } else {
        const part = {
          ...obs,
          y: {
            shape: [stop - start, ...obs.y.shape.slice(1)],
            data: obs.y.data.subarray(start * (obs.y.data.length / n), stop * (obs.y.data.length / n)),
          },
          params: obs.family.sliceParams(obs.params, start, stop),
        };
        const x = sampleGaussianPosterior(prior, part, ctx.seed, start);
        out.set(x.data, start * d);
        await ctx.checkpoints.save(slot, { start, stop }, { x });
      }
      ctx.progress.tick(stop - start);
    }
    await ctx.writeArray("x", { shape: [n, ...obs.family.xShape], data: out });
    ctx.metrics({ samples: n, shards });
  },
};
