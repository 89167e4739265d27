/**
 * Training the evaluator's classifier (lib/nn `Classifier`) by softmax cross-entropy with Adam and a linear
 * learning-rate decay. As in the denoiser's loop, the batch at step s is a pure function of (seed, s)
 * ({@link BatchPlan}), so a run resumed from a {@link TrainingState} (weights, Adam state, step; the one
 * checkpoint layout of `checkpoint.ts`) continues bit for bit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { variableGrads } from "../tensor/gradients.ts";
import type { NDArray } from "../array.ts";
import { type Classifier, exportParams, importParams } from "../nn/mod.ts";
import { Adam, linearDecayLR } from "./optim.ts";
import { BatchPlan, type TrainingState, type TrainOptions } from "./train.ts";

/**
 * Options of {@link trainClassifier}; logging, checkpoints and resuming work as in the denoiser's loop
 * ({@link TrainOptions}).
 */
export interface ClassifierTrainOptions
  extends Pick<TrainOptions, "logEvery" | "onStep" | "checkpointEvery" | "onCheckpoint" | "resume"> {
  /** The network; trained in place. */
  net: Classifier;
  /** Training images `[N, H, W, C]`. */
  images: NDArray;
  /** Class of each image, in [0, classes). */
  labels: ArrayLike<number>;
  steps: number;
  batchSize: number;
  /** Peak learning rate, decayed linearly to 0 at `steps`. */
  lr: number;
  seed: number;
}

/**
 * Train `net` by cross-entropy on labelled images; returns the final state and the logged (step, loss).
 *
 * @example
 * ```ts
 * const net = new Classifier({ height: 14, width: 14, channels: 1 }, seed);
 * const { state } = await trainClassifier({ net, images, labels, steps: 600, batchSize: 64, lr: 2e-3, seed });
 * ```
 */
export async function trainClassifier(
  opts: ClassifierTrainOptions,
): Promise<{ state: TrainingState; losses: [number, number][] }> {
  const { net, images, labels, steps, batchSize, seed } = opts;
  const [n, ...event] = images.shape;
  const classes = net.config.classes;
  if (labels.length !== n) throw new Error(`classifier: ${labels.length} labels for ${n} images`);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!(Number.isInteger(l) && l >= 0 && l < classes)) {
      throw new Error(`classifier: label ${l} of image ${i} is not a class in [0, ${classes})`);
    }
  }
  const d = images.data.length / n;
  const params = net.params();
  const adam = new Adam(params, { lr: linearDecayLR(opts.lr, steps), clipNorm: Infinity });
  if (opts.resume) {
    importParams(net, opts.resume.params);
    adam.importState(opts.resume.optimizer);
  }
  const plan = new BatchPlan(seed, n, batchSize);
  const logEvery = opts.logEvery ?? 25;
  const losses: [number, number][] = [];
  const snapshot = async (): Promise<TrainingState> => ({
    step: adam.step,
    params: await exportParams(net),
    optimizer: await adam.exportState(),
  });
  const xb = new Float32Array(batchSize * d), yb = new Int32Array(batchSize);
  try {
    for (let step = adam.step; step < steps; step++) {
      const idx = plan.indices(step);
      idx.forEach((r, k) => {
        for (let j = 0; j < d; j++) xb[k * d + j] = images.data[r * d + j];
        yb[k] = labels[r];
      });
      const loss = tf.tidy(() => {
        const x = tf.tensor(xb, [batchSize, ...event]);
        const onehot = tf.oneHot(tf.tensor1d(yb, "int32"), classes);
        const { value, grads } = variableGrads(
          () => tf.losses.softmaxCrossEntropy(onehot, net.logits(x)) as tf.Scalar,
          Object.values(params),
        );
        adam.apply(grads);
        return value;
      });
      const done = step + 1;
      let reported: number | undefined;
      if (done % logEvery === 0 || done === steps) {
        reported = (await loss.data())[0];
        losses.push([done, reported]);
      }
      loss.dispose();
      opts.onStep?.(done, reported);
      if (opts.onCheckpoint && opts.checkpointEvery && done % opts.checkpointEvery === 0 && done !== steps) {
        await opts.onCheckpoint(await snapshot());
      }
    }
    return { state: await snapshot(), losses };
  } finally {
    adam.dispose();
  }
}
