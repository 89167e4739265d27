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
import { trainDenoiser, type TrainingState } from "../lib/diffusion/train.ts";
import { veSchedule } from "../lib/diffusion/schedule.ts";
import { exportParams, importParams } from "../lib/nn/module.ts";
import { buildNet } from "../lib/nn/factory.ts";
import { rowsInsideBox } from "../lib/metrics/moments.ts";
import type { StageContext, TaskDef } from "../lib/pipeline/task.ts";
import type { NDArray } from "../lib/store/zarr.ts";
import { useBackend } from "./backend.ts";
import { loadModel, type ModelInfo } from "./model.ts";

const params = z.object({
  steps: z.number().int().positive().default(4096),
  batch_size: z.number().int().positive().default(256),
  lr: z.number().positive().default(1e-3),
  lr_schedule: z.enum(["linear", "constant"]).default("linear"),
  ema_decay: z.number().min(0).max(1).optional(),
  /** MLP hidden widths (vectors). */
  hidden: z.array(z.number().int().positive()).default([256, 256, 256]),
  embedding: z.number().int().positive().default(64),
  sigma_min: z.number().positive().default(1e-3),
  sigma_max: z.number().positive().default(10),
  checkpoint_every: z.number().int().positive().default(500),
  /**
   * Train only on samples inside [−box, box]^D (as the paper does): a few diverged posterior
   * samples would otherwise teach the next prior to diverge further. 0 keeps every sample.
   */
  box: z.number().min(0).default(3),
});

type Params = z.output<typeof params>;

function prefixed(prefix: string, arrays: Record<string, NDArray>): Record<string, NDArray> {
  return Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${prefix}/${k}`, v]));
}

function unprefixed(prefix: string, arrays: Record<string, NDArray>): Record<string, NDArray> {
  return Object.fromEntries(
    Object.entries(arrays).filter(([k]) => k.startsWith(prefix + "/")).map((
      [k, v],
    ) => [k.slice(prefix.length + 1), v]),
  );
}

async function train(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  await useBackend(ctx);
  const samples = await ctx.input("samples").array("x");
  const xShape = samples.shape.slice(1);
  if (xShape.length !== 1) {
    throw new Error(`fit-prior trains an MLP on vectors; samples have event shape [${xShape}]`);
  }
  let data = samples.data instanceof Float32Array ? samples.data : Float32Array.from(samples.data);
  const total = samples.shape[0];
  if (p.box > 0) {
    data = rowsInsideBox({ shape: [total, xShape[0]], data }, -p.box, p.box).data as Float32Array;
    const kept = data.length / xShape[0];
    if (kept < total) {
      ctx.log(`training on ${kept} of ${total} samples (the others leave [−${p.box}, ${p.box}]^D)`);
    }
    if (kept < p.batch_size) {
      throw new Error(
        `only ${kept} of ${total} samples lie inside the box [−${p.box}, ${p.box}]^D: fewer than one batch`,
      );
    }
  }
  const config = { kind: "mlp", features: xShape[0], hidden: p.hidden, embeddingFeatures: p.embedding };
  const net = buildNet(config, ctx.seed);
  try {
    const init = ctx.optionalInput("init");
    let warm = false;
    if (init?.task === "fit-prior") {
      const model = await loadModel(init);
      if (JSON.stringify(model.info.config) !== JSON.stringify(net.config)) {
        throw new Error(
          `cannot warm-start from ${init.stageId}: its network ${
            JSON.stringify(model.info.config)
          } differs from ${JSON.stringify(net.config)}`,
        );
      }
      importParams(net, model.weights);
      warm = true;
    }
    const saved = await ctx.checkpoints.load("train");
    let resume: TrainingState | undefined;
    let losses: [number, number][] = [];
    if (saved) {
      resume = {
        step: saved.state.step as number,
        params: unprefixed("params", saved.arrays),
        optimizer: unprefixed("optimizer", saved.arrays),
        ema: p.ema_decay !== undefined ? unprefixed("ema", saved.arrays) : undefined,
      };
      losses = saved.state.losses as [number, number][];
    }
    ctx.progress.start(p.steps, "step", resume?.step ?? 0, "train");
    let lastLoss: number | undefined;
    const result = await trainDenoiser({
      net,
      data,
      schedule: veSchedule(p.sigma_min, p.sigma_max),
      steps: p.steps,
      batchSize: p.batch_size,
      lr: p.lr,
      lrSchedule: p.lr_schedule,
      emaDecay: p.ema_decay,
      seed: ctx.seed,
      resume,
      logEvery: 25,
      onStep: (_step, loss) => {
        if (loss !== undefined) lastLoss = loss;
        ctx.progress.tick(1, lastLoss !== undefined ? `loss ${lastLoss.toFixed(4)}` : undefined);
      },
      checkpointEvery: p.checkpoint_every,
      onCheckpoint: async (state) => {
        if (state.step >= p.steps) return; // the final state is the output, not a checkpoint
        await ctx.checkpoints.save("train", { step: state.step, losses: [...losses] }, {
          ...prefixed("params", state.params),
          ...prefixed("optimizer", state.optimizer),
          ...(state.ema ? prefixed("ema", state.ema) : {}),
        });
      },
    });
    losses = [...losses, ...result.losses];
    const weights = result.state.ema ?? await exportParams(net);
    for (const [name, a] of Object.entries(weights)) await ctx.writeArray(`weights/${name}`, a);
    const info: ModelInfo = {
      config: net.config,
      sigma_min: p.sigma_min,
      sigma_max: p.sigma_max,
      ema: p.ema_decay !== undefined,
    };
    await ctx.writeJson("model", info);
    await ctx.writeJson("losses", losses);
    const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
    ctx.metrics({
      loss: tail.reduce((a, [, l]) => a + l, 0) / tail.length,
      warm_start: warm,
      steps: p.steps,
      kept_fraction: data.length / xShape[0] / total,
    });
  } finally {
    net.dispose();
  }
}

/** The fit-prior task. */
export const fitPriorTask: TaskDef<typeof params> = {
  name: "fit-prior",
  version: 1,
  description: "train a diffusion prior (MLP, EDM preconditioning) by denoising score matching on samples",
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
