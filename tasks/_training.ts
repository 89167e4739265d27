/**
 * What the training tasks share (`fit-prior`: DiEM's unconditional prior; `fit-conditional`: DiffEM's
 * conditional model): the parameters of denoising score matching, reading and box-filtering the E-step's
 * samples, warm starts from the previous lap, checkpointed and exactly resumable training, and how a
 * trained model is written (`weights/<name>`, `json/model.json`, `json/losses.json`).
 *
 * @module
 */
import { z } from "zod";
import {
  trainDenoiser,
  trainingCheckpoint,
  type TrainingState,
  trainingStateFrom,
} from "../lib/training/mod.ts";
import { veSchedule } from "../lib/diffusion/mod.ts";
import { rowsInsideBox } from "../lib/metrics/mod.ts";
import { exportParams, importParams, type NoiseConditionedNet } from "../lib/nn/mod.ts";
import { type StageContext, StageMismatchError } from "../lib/engine/mod.ts";
import { type NDArray, numel } from "../lib/array.ts";
import type { ConditionEncoding } from "../lib/diffem/mod.ts";
import { describeModel, loadModel, type ModelDescriptor, type ModelInfo, modelOf } from "./_model.ts";
import { networkSpec, resolveTraining } from "./_network.ts";
import { renamed } from "./_params.ts";

/**
 * Parameters of a training task (the fields of a zod object; spread them into a task's schema).
 *
 * @example
 * ```ts
 * const params = z.object({ ...denoiserTrainingParams, copies: z.number().int().positive().default(1) });
 * ```
 */
export const denoiserTrainingParams = {
  steps: z.number().int().positive().max(1e8).default(4096),
  batch_size: z.number().int().positive().max(1e6).default(256),
  /** The network to train (default by the samples' event shape: MLP for vectors, U-Net for images). */
  network: networkSpec.optional(),
  /** Peak learning rate (default 1e-3 for vectors, 2e-4 for images). */
  lr: z.number().positive().optional(),
  /** Default linear (vectors) or constant (images). */
  lr_schedule: z.enum(["linear", "constant"]).optional(),
  /** EMA decay of the published weights (default none for vectors, 0.999 for images; 0 keeps the last). */
  ema_decay: z.number().min(0).max(1).optional(),
  hidden: renamed("network: { kind: mlp, hidden: [...] }"),
  embedding: renamed("network: { kind: mlp | unet, embedding: N }"),
  sigma_min: z.number().positive().default(1e-3),
  sigma_max: z.number().positive().default(10),
  /** σ_data of the EDM preconditioning and of the loss weight (the data's scale; recorded with the model). */
  sigma_data: z.number().positive().default(1),
  checkpoint_every: z.number().int().positive().max(1e8).default(500),
  /**
   * Train only on samples inside [−box, box]^D (as the paper does): a few diverged posterior
   * samples would otherwise teach the next prior to diverge further. 0 keeps every sample. For images
   * (pixels in [−1, 1]) it is a per-pixel range check: an image with any pixel beyond ±box is dropped.
   */
  box: z.number().min(0).default(3),
};

/**
 * The parsed {@link denoiserTrainingParams}.
 *
 * @example
 * ```ts
 * async function run(ctx: StageContext<DenoiserTrainingParams>) { console.log(ctx.params.steps); }
 * ```
 */
export type DenoiserTrainingParams = z.output<z.ZodObject<typeof denoiserTrainingParams>>;

/**
 * Samples read for training: rows `[n, ...eventShape]`, and which rows of the input they are.
 *
 * @example
 * ```ts
 * const { data, eventShape, rows, total }: TrainingSamples = await readTrainingSamples(ctx);
 * ```
 */
export interface TrainingSamples {
  /** Row-major `[rows.length, ...eventShape]`. */
  data: Float32Array;
  /** Shape of one sample: `[D]` (vectors) or `[H, W, C]` (images). */
  eventShape: number[];
  /** Values per sample (the product of `eventShape`). */
  features: number;
  /** Index in the input of each kept row. */
  rows: Int32Array;
  /** Rows of the input before the box filter. */
  total: number;
}

/**
 * The samples `x` of input `samples` (vectors or images), without the rows that leave [−box, box]^D
 * (logged; for images a per-pixel range check). Throws when fewer than a batch remain.
 *
 * @example
 * ```ts
 * const { data, eventShape } = await readTrainingSamples(ctx);
 * ```
 */
export async function readTrainingSamples(
  ctx: StageContext<DenoiserTrainingParams>,
): Promise<TrainingSamples> {
  const p = ctx.params;
  const samples = await ctx.input("samples").array("x");
  const eventShape = samples.shape.slice(1);
  const all = samples.data instanceof Float32Array ? samples.data : Float32Array.from(samples.data);
  const total = samples.shape[0], d = numel(eventShape);
  if (p.box <= 0) {
    return {
      data: all,
      eventShape,
      features: d,
      rows: Int32Array.from({ length: total }, (_, i) => i),
      total,
    };
  }
  const kept = rowsInsideBox({ shape: [total, d], data: all }, -p.box, p.box);
  const data = new Float32Array(kept.length * d);
  kept.forEach((r, k) => data.set(all.subarray(r * d, (r + 1) * d), k * d));
  if (kept.length < total) {
    ctx.log(`training on ${kept.length} of ${total} samples (the others leave [−${p.box}, ${p.box}]^D)`);
  }
  if (kept.length < p.batch_size) {
    throw new StageMismatchError(
      `only ${kept.length} of ${total} samples lie inside the box [−${p.box}, ${p.box}]^D: fewer than one batch`,
    );
  }
  return { data, eventShape, features: d, rows: kept, total };
}

/**
 * Load the weights of input `init` into `net` when it published a model of the same `kind` (the previous
 * lap), and say whether it did; anything else (absent, a Gaussian start) leaves `net` as initialised.
 *
 * @example
 * ```ts
 * const warm = await warmStart(ctx, net, "network");
 * ```
 */
async function warmStart(
  ctx: StageContext,
  net: NoiseConditionedNet,
  kind: ModelDescriptor["kind"],
): Promise<boolean> {
  const init = ctx.optionalInput("init");
  if (!init || modelOf(init)?.kind !== kind) return false;
  const model = await loadModel(init);
  if (JSON.stringify(model.info.config) !== JSON.stringify(net.config)) {
    throw new StageMismatchError(
      `cannot warm-start from ${init.stageId}: its network ${
        JSON.stringify(model.info.config)
      } differs from ${JSON.stringify(net.config)}`,
    );
  }
  importParams(net, model.weights);
  return true;
}

/**
 * Train `net` by denoising score matching on `data` (and `conditions`, for a conditional network) per the
 * stage's parameters, with progress, and checkpoints every `checkpoint_every` steps in slot `train`: a
 * rerun resumes exactly (weights, Adam state, EMA, step). Returns the weights to publish (the EMA weights
 * when `ema_decay` is set) and every logged (step, loss).
 *
 * @example
 * ```ts
 * const { weights, losses } = await trainWithCheckpoints(ctx, net, data);
 * ```
 */
async function trainWithCheckpoints(
  ctx: StageContext<DenoiserTrainingParams>,
  net: NoiseConditionedNet,
  data: Float32Array,
  conditions?: Float32Array,
): Promise<{ weights: Record<string, NDArray>; losses: [number, number][] }> {
  const p = ctx.params;
  const { lr, lrSchedule, emaDecay } = resolveTraining(p, net.eventShape);
  const saved = await ctx.checkpoints.load("train");
  let resume: TrainingState | undefined;
  // Every logged (step, loss) since the start of training, checkpointed with the weights so that a resumed
  // run publishes the whole curve, not just the part after the last interruption.
  const logged: [number, number][] = [];
  if (saved) {
    resume = trainingStateFrom(saved.state.step as number, saved.arrays, emaDecay !== undefined);
    logged.push(...saved.state.losses as [number, number][]);
  }
  ctx.progress.start(p.steps, "step", resume?.step ?? 0, "train");
  let lastLoss: number | undefined;
  const result = await trainDenoiser({
    net,
    data,
    conditions,
    schedule: veSchedule(p.sigma_min, p.sigma_max),
    sigmaData: p.sigma_data,
    steps: p.steps,
    batchSize: p.batch_size,
    lr,
    lrSchedule,
    emaDecay,
    seed: ctx.seed,
    resume,
    logEvery: 25,
    onStep: (step, loss) => {
      if (loss !== undefined) {
        lastLoss = loss;
        logged.push([step, loss]);
      }
      ctx.progress.tick(1, lastLoss !== undefined ? `loss ${lastLoss.toFixed(4)}` : undefined);
    },
    checkpointEvery: p.checkpoint_every,
    onCheckpoint: async (state) => {
      if (state.step >= p.steps) return; // the final state is the output, not a checkpoint
      await ctx.checkpoints.save(
        "train",
        { step: state.step, losses: [...logged] },
        trainingCheckpoint(state),
      );
    },
  });
  return { weights: result.state.ema ?? await exportParams(net), losses: logged };
}

/**
 * The whole M-step of a training task: warm-start `net` from input `init` when it published a model of the
 * same kind, train it with checkpoints, and publish it — `weights/<name>`, `json/model.json`,
 * `json/losses.json`, and its description in the stage's metadata (see `describeModel`). A conditional
 * model passes its condition encoding. Returns the `loss` metric (the mean loss over the last tenth of the
 * logged steps) and whether it warm-started.
 *
 * @example
 * ```ts
 * const { loss, warm } = await fitDenoiser(ctx, net, data);
 * ```
 */
export async function fitDenoiser(
  ctx: StageContext<DenoiserTrainingParams>,
  net: NoiseConditionedNet,
  data: Float32Array,
  conditional?: { conditions: Float32Array; encoding: ConditionEncoding },
): Promise<{ loss: number; warm: boolean }> {
  const p = ctx.params;
  const training = resolveTraining(p, net.eventShape);
  const warm = await warmStart(ctx, net, conditional ? "conditional" : "network");
  const { weights, losses } = await trainWithCheckpoints(ctx, net, data, conditional?.conditions);
  const info: ModelInfo = {
    config: net.config,
    sigma_min: p.sigma_min,
    sigma_max: p.sigma_max,
    sigma_data: p.sigma_data,
    ema: training.emaDecay !== undefined,
    ...(conditional ? { conditional: true, condition: conditional.encoding } : {}),
  };
  describeModel(ctx, { kind: conditional ? "conditional" : "network", event_shape: [...net.eventShape] });
  // The settings it trained with, defaults resolved (they depend on the event shape).
  ctx.meta({
    training: {
      network: training.network,
      lr: training.lr,
      lr_schedule: training.lrSchedule,
      ema_decay: training.emaDecay ?? null,
    },
  });
  for (const [name, a] of Object.entries(weights)) await ctx.writeArray(`weights/${name}`, a);
  await ctx.writeJson("model", info);
  await ctx.writeJson("losses", losses);
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
  return { loss: tail.reduce((a, [, l]) => a + l, 0) / tail.length, warm };
}
