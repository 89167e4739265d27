/**
 * The training loop: DSM loss on a host dataset, Adam with clipping, optional EMA, checkpoints, exact resume.
 *
 * Everything random at step s is a pure function of (seed, s): the batch is rows [j·B, (j+1)·B) of the epoch
 * permutation `Rng.fromSeed(seed, "epoch", e)`, and t, z come from `Rng.fromSeed(seed, "step", s)`. A resumed
 * run therefore needs only the weights, the optimizer (and EMA) state and the step to continue bit for bit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { variableGrads } from "../tensor/gradients.ts";
import { Rng } from "../random.ts";
import { type NDArray, numel } from "../array.ts";
import { exportParams, importParams, type NoiseConditionedNet } from "../nn/mod.ts";
import { drawTrainingNoise, dsmLoss, edmDenoiser, type VESchedule } from "../diffusion/mod.ts";
import { Adam, constantLR, EMA, linearDecayLR } from "./optim.ts";

/** Everything needed to resume training exactly. */
export interface TrainingState {
  /** Steps completed. */
  step: number;
  params: Record<string, NDArray>;
  /** Adam state (see {@link Adam.exportState}). */
  optimizer: Record<string, NDArray>;
  /** EMA weights, when training with an EMA. */
  ema?: Record<string, NDArray>;
}

/** Options of {@link trainDenoiser}. */
export interface TrainOptions {
  /** The network; trained in place. */
  net: NoiseConditionedNet;
  /** Training rows, row-major `[n, ...net.eventShape]`. */
  data: Float32Array;
  /** Per-row condition vectors `[n, net.conditionFeatures]` for a conditional network (DiffEM). */
  conditions?: Float32Array;
  schedule: VESchedule;
  /** σ_data of the EDM preconditioning and of the loss weight (default 1): one value for both. */
  sigmaData?: number;
  /** Total steps of the run (the LR schedule spans them). */
  steps: number;
  batchSize: number;
  /** Peak learning rate (1e-3 vectors, 2e-4 images). */
  lr: number;
  /** `linear` decays to 0 at `steps` (vectors); `constant` (images). Default linear. */
  lrSchedule?: "linear" | "constant";
  /** EMA decay (e.g. 0.999); none when absent. */
  emaDecay?: number;
  /** Global-norm gradient clip (default 1). */
  clipNorm?: number;
  seed: number;
  /** Read the loss every `logEvery` steps (a device sync) and report it to `onStep` (default 10). */
  logEvery?: number;
  /** Called after every step; `loss` is set on logged steps. */
  onStep?: (step: number, loss: number | undefined) => void;
  /** Call `onCheckpoint` every this many steps (and at the end). */
  checkpointEvery?: number;
  onCheckpoint?: (state: TrainingState) => Promise<void>;
  /** Resume from a saved state (the network's weights are overwritten with it). */
  resume?: TrainingState;
  /** Stop after this step (for tests and time-sliced runs); the LR schedule still spans `steps`. */
  stopAt?: number;
}

/** Result of {@link trainDenoiser}. */
export interface TrainResult {
  /** Final state (also what the last checkpoint saw). */
  state: TrainingState;
  /** Logged (step, loss) pairs. */
  losses: [number, number][];
}

/**
 * The rows of the batch at `step`, a pure function of (seed, step): epochs are seeded permutations, the last
 * incomplete batch of an epoch is dropped, and fewer rows than a batch are drawn with replacement.
 *
 * @example
 * ```ts
 * const plan = new BatchPlan(seed, 65536, 1024);
 * const rows = plan.indices(12345);
 * ```
 */
export class BatchPlan {
  readonly stepsPerEpoch: number;
  #epoch = -1;
  #perm: Int32Array | null = null;
  constructor(readonly seed: number, readonly rows: number, readonly batchSize: number) {
    this.stepsPerEpoch = Math.floor(rows / batchSize);
  }

  /** Row indices of the batch taken at `step`. */
  indices(step: number): Int32Array {
    if (this.stepsPerEpoch === 0) {
      // Fewer rows than a batch: draw with replacement.
      const rng = Rng.fromSeed(this.seed, "batch", step);
      return Int32Array.from({ length: this.batchSize }, () => rng.int(this.rows));
    }
    const epoch = Math.floor(step / this.stepsPerEpoch), j = step % this.stepsPerEpoch;
    if (epoch !== this.#epoch) {
      this.#perm = Rng.fromSeed(this.seed, "epoch", epoch).permutation(this.rows);
      this.#epoch = epoch;
    }
    return this.#perm!.subarray(j * this.batchSize, (j + 1) * this.batchSize);
  }
}

function gather(src: Float32Array, width: number, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i] * width, (idx[i] + 1) * width), i * width);
  return out;
}

/**
 * Train `net` by denoising score matching. Returns when `steps` (or `stopAt`) steps are done.
 *
 * @example
 * ```ts
 * const net = new MLP({ features: 2 }, seed);
 * const { state } = await trainDenoiser({
 *   net, data, schedule: veSchedule(), steps: 4000, batchSize: 256, lr: 1e-3, seed,
 *   checkpointEvery: 1000, onCheckpoint: (s) => saveTrainingState(dir, s),
 * });
 * ```
 */
export async function trainDenoiser(opts: TrainOptions): Promise<TrainResult> {
  const { net, data, schedule, batchSize, seed } = opts;
  const sigmaData = opts.sigmaData ?? 1;
  const event = [...net.eventShape];
  const width = numel(event);
  if (data.length % width !== 0) {
    throw new Error(`train: ${data.length} values is not a multiple of ${width}`);
  }
  const rows = data.length / width;
  const cw = net.conditionFeatures;
  if (cw > 0 && (!opts.conditions || opts.conditions.length !== rows * cw)) {
    throw new Error(`train: the network needs ${rows}×${cw} conditions`);
  }
  const params = net.params();
  const varList = Object.values(params);
  const lr = opts.lrSchedule === "constant" ? constantLR(opts.lr) : linearDecayLR(opts.lr, opts.steps);
  const adam = new Adam(params, { lr, clipNorm: opts.clipNorm ?? 1 });
  const ema = opts.emaDecay !== undefined ? new EMA(params, opts.emaDecay) : null;
  if (opts.resume) {
    importParams(net, opts.resume.params);
    adam.importState(opts.resume.optimizer);
    if (ema) {
      if (!opts.resume.ema) throw new Error("train: resuming an EMA run from a state without EMA weights");
      ema.importState(opts.resume.ema);
    }
  }
  const plan = new BatchPlan(seed, rows, batchSize);
  const logEvery = opts.logEvery ?? 10;
  const losses: [number, number][] = [];
  const stop = Math.min(opts.steps, opts.stopAt ?? opts.steps);

  const snapshot = async (): Promise<TrainingState> => ({
    step: adam.step,
    params: await exportParams(net),
    optimizer: await adam.exportState(),
    ...(ema ? { ema: await ema.exportState() } : {}),
  });

  try {
    for (let step = adam.step; step < stop; step++) {
      const idx = plan.indices(step);
      const { sigma, z } = drawTrainingNoise(Rng.fromSeed(seed, "step", step), schedule, batchSize, width);
      const xb = gather(data, width, idx);
      const cb = cw > 0 ? gather(opts.conditions!, cw, idx) : null;
      const loss = tf.tidy(() => {
        const x = tf.tensor(xb, [batchSize, ...event]);
        const s = tf.tensor1d(sigma);
        const zz = tf.tensor(z, [batchSize, ...event]);
        const condition = cb ? tf.tensor2d(cb, [batchSize, cw]) : undefined;
        const denoiser = edmDenoiser(net, { condition, sigmaData });
        const { value, grads } = variableGrads(() => dsmLoss(denoiser, x, s, zz, sigmaData), varList);
        adam.apply(grads);
        return value;
      });
      ema?.update();
      const done = step + 1;
      let reported: number | undefined;
      if (done % logEvery === 0 || done === stop) {
        reported = (await loss.data())[0];
        losses.push([done, reported]);
      }
      loss.dispose();
      opts.onStep?.(done, reported);
      if (opts.onCheckpoint && opts.checkpointEvery && done % opts.checkpointEvery === 0 && done !== stop) {
        await opts.onCheckpoint(await snapshot());
      }
    }
    const state = await snapshot();
    if (opts.onCheckpoint) await opts.onCheckpoint(state);
    return { state, losses };
  } finally {
    adam.dispose();
    ema?.dispose();
  }
}
