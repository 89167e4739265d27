/**
 * `fit-evaluator`: the image evaluator. Trains a small CNN classifier (lib/nn `Classifier`) once on the clean
 * labelled *training* split and reports its accuracy on the clean *test* split; `evaluate` then compares
 * image sets by the Fréchet distance of its penultimate features (docs/design.md, evaluation). The one stage
 * besides `corrupt`, `evaluate` and an oracle that reads clean images: it never feeds an EM stage.
 * Checkpointed every `checkpoint_every` steps: an interrupted fit resumes exactly (weights, Adam state, step).
 *
 * Outputs: `weights/<name>`, `json/evaluator.json` (the classifier's config: rebuilds it), `json/losses.json`,
 * metrics `test_accuracy`, `train_accuracy` (on up to 10 000 training images), `loss`;
 * `meta.evaluator = { kind: "classifier", event_shape, features }`.
 *
 * @module
 */
import { z } from "zod";
import { Classifier, type ClassifierConfig, classifyImages } from "../lib/nn/mod.ts";
import { trainClassifier, trainingCheckpoint, trainingStateFrom } from "../lib/training/mod.ts";
import { type StageContext, StageMismatchError, type TaskDef } from "../lib/engine/mod.ts";
import { sliceRows } from "../lib/array.ts";
import { useBackend } from "./_backend.ts";
import { type EvaluatorDescriptor, readLabelledImages } from "./_evaluator.ts";

const params = z.object({
  /** Adam steps (the learning rate decays linearly to 0 over them). */
  steps: z.number().int().positive().max(1e7).default(2000),
  batch_size: z.number().int().positive().max(1e5).default(64),
  lr: z.number().positive().default(2e-3),
  /** Channels of each conv–pool block. */
  conv: z.array(z.number().int().positive()).min(1).default([32, 64]),
  /** Width of the penultimate layer: the features the Fréchet distance compares. */
  features: z.number().int().positive().default(128),
  checkpoint_every: z.number().int().positive().max(1e7).default(500),
});

type Params = z.output<typeof params>;

/** Fraction of `predictions` equal to `labels`. */
function accuracy(predictions: Int32Array, labels: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < predictions.length; i++) right += predictions[i] === labels[i] ? 1 : 0;
  return right / predictions.length;
}

async function train(ctx: StageContext<Params>): Promise<void> {
  const p = ctx.params;
  await useBackend(ctx);
  const trainSet = await readLabelledImages(ctx.input("train"), "train");
  const testSet = await readLabelledImages(ctx.input("test"), "test");
  const [, height, width, channels] = trainSet.x.shape;
  if (testSet.x.shape.slice(1).join(",") !== trainSet.x.shape.slice(1).join(",")) {
    throw new StageMismatchError(
      `fit-evaluator: test images [${testSet.x.shape.slice(1)}] differ from training images [${
        trainSet.x.shape.slice(1)
      }]`,
    );
  }
  let classes = 0;
  for (const l of trainSet.labels) classes = Math.max(classes, l + 1);
  const config: ClassifierConfig = { height, width, channels, classes, conv: p.conv, features: p.features };
  const net = new Classifier(config, ctx.seed);
  try {
    const saved = await ctx.checkpoints.load("train");
    const resume = saved ? trainingStateFrom(saved.state.step as number, saved.arrays, false) : undefined;
    const logged: [number, number][] = saved ? [...saved.state.losses as [number, number][]] : [];
    ctx.progress.start(p.steps, "step", resume?.step ?? 0, "train");
    let last: number | undefined;
    const { state } = await trainClassifier({
      net,
      images: trainSet.x,
      labels: trainSet.labels,
      steps: p.steps,
      batchSize: p.batch_size,
      lr: p.lr,
      seed: ctx.seed,
      resume,
      onStep: (step, loss) => {
        if (loss !== undefined) logged.push([step, last = loss]);
        ctx.progress.tick(1, last !== undefined ? `loss ${last.toFixed(4)}` : undefined);
      },
      checkpointEvery: p.checkpoint_every,
      onCheckpoint: (s) =>
        ctx.checkpoints.save("train", { step: s.step, losses: [...logged] }, trainingCheckpoint(s)),
    });
    const testAccuracy = accuracy(classifyImages(net, testSet.x).predictions, testSet.labels);
    const m = Math.min(10000, trainSet.labels.length);
    const trainAccuracy = accuracy(
      classifyImages(net, sliceRows(trainSet.x, 0, m)).predictions,
      trainSet.labels.subarray(0, m),
    );
    for (const [name, a] of Object.entries(state.params)) await ctx.writeArray(`weights/${name}`, a);
    await ctx.writeJson("evaluator", net.config);
    await ctx.writeJson("losses", logged);
    const evaluator: EvaluatorDescriptor = {
      kind: "classifier",
      event_shape: [height, width, channels],
      features: p.features,
    };
    ctx.meta({ evaluator });
    const tail = logged.slice(-Math.max(1, Math.floor(logged.length / 10)));
    ctx.metrics({
      test_accuracy: testAccuracy,
      train_accuracy: trainAccuracy,
      loss: tail.reduce((a, [, l]) => a + l, 0) / tail.length,
      classes,
      train_images: trainSet.labels.length,
      test_images: testSet.labels.length,
    });
    ctx.log(`test accuracy ${(100 * testAccuracy).toFixed(2)} % on ${testSet.labels.length} images`);
  } finally {
    net.dispose();
  }
}

/** The fit-evaluator task. */
export const fitEvaluatorTask: TaskDef<typeof params> = {
  name: "fit-evaluator",
  version: 1,
  description: "train the image evaluator: a small CNN classifier on clean labelled images (FD features)",
  params,
  inputs: {
    train: { description: "a dataset stage with clean training images x [N, H, W, C] and labels [N]" },
    test: { description: "a dataset stage with clean test images x and labels (the reported accuracy)" },
  },
  resources: { cpus: 2, memory: "8G", time: "2:00:00" },
  run: train,
};
