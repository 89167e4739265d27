/**
 * `fit-prior`: the M-step of DiEM. Trains a diffusion prior by denoising score matching on the
 * E-step's samples, warm-started from the previous lap's weights (the optimizer starts afresh each
 * lap); from scratch when `init` is absent or is not a trained prior. Checkpointed every
 * `checkpoint_every` steps: an interrupted fit resumes exactly (weights, Adam state, EMA, step).
 *
 * Outputs: `weights/<name>` (the EMA weights when `ema_decay` is set), `json/model.json`
 * (architecture and noise schedule: enough to rebuild the denoiser), `json/losses.json`.
 *
 * @module
 */
import { z } from "zod";
import { buildNet } from "../lib/nn/mod.ts";
import type { StageContext, TaskDef } from "../lib/engine/mod.ts";
import { useBackend } from "./_backend.ts";
import { denoiserTrainingParams, fitDenoiser, readTrainingSamples } from "./_training.ts";
import { networkConfig, resolveTraining } from "./_network.ts";

const params = z.object(denoiserTrainingParams);

type Params = z.output<typeof params>;

async function train(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  await useBackend(ctx);
  const { data, eventShape, features, total } = await readTrainingSamples(ctx);
  const { network } = resolveTraining(p, eventShape);
  const net = buildNet(networkConfig(network, eventShape), ctx.seed);
  try {
    const { loss, warm } = await fitDenoiser(ctx, net, data);
    ctx.metrics({ loss, warm_start: warm, steps: p.steps, kept_fraction: data.length / features / total });
  } finally {
    net.dispose();
  }
}

/** The fit-prior task. */
export const fitPriorTask: TaskDef<typeof params> = {
  name: "fit-prior",
  version: 3,
  description:
    "train a diffusion prior (MLP for vectors, U-Net for images; EDM preconditioning) by denoising score matching on samples",
  params,
  inputs: {
    samples: { description: "a stage with samples x (sample-posterior)" },
    init: {
      description: "the previous lap's fit-prior to warm-start from (else from scratch)",
      optional: true,
    },
  },
  resources: { cpus: 2, memory: "8G", time: "4:00:00" },
  run: train,
};
