/**
 * The image evaluator a `fit-evaluator` stage publishes, and how it is read back: the stage says what it is in
 * its metadata (`meta.evaluator`, an {@link EvaluatorDescriptor}); its classifier is rebuilt from
 * `json/evaluator.json` (the config) and `arrays/weights/<name>`. Consumers read the metadata, never the
 * producing task's name.
 *
 * @module
 */
import { Classifier, type ClassifierConfig, importParams } from "../lib/nn/mod.ts";
import { type InputEntry, StageMismatchError } from "../lib/engine/mod.ts";
import type { NDArray } from "../lib/array.ts";

/** What an evaluator stage publishes: its entry's `meta.evaluator`. */
export interface EvaluatorDescriptor {
  kind: "classifier";
  /** Shape of one image it takes, `[H, W, C]`. */
  event_shape: number[];
  /** Width of the feature layer the Fréchet distance compares. */
  features: number;
}

/**
 * The evaluator a stage published, or null when it published none.
 *
 * @example
 * ```ts
 * const shape = evaluatorOf(ctx.input("evaluator"))?.event_shape;
 * ```
 */
export function evaluatorOf(entry: InputEntry): EvaluatorDescriptor | null {
  const e = entry.meta.evaluator as EvaluatorDescriptor | undefined;
  return e && e.kind === "classifier" ? e : null;
}

/**
 * Rebuild the classifier of an evaluator stage (the caller disposes it).
 *
 * @example
 * ```ts
 * const net = await loadEvaluator(ctx.input("evaluator"));
 * try { ... } finally { net.dispose(); }
 * ```
 */
export async function loadEvaluator(entry: InputEntry): Promise<Classifier> {
  if (!evaluatorOf(entry)) {
    throw new StageMismatchError(
      `stage ${entry.stageId} (task ${entry.task}) published no evaluator (its metadata has no evaluator): wire a fit-evaluator stage`,
    );
  }
  const config = await entry.json<ClassifierConfig>("evaluator");
  const weights: Record<string, NDArray> = {};
  for (const name of Object.keys(entry.arrays)) {
    if (name.startsWith("weights/")) weights[name.slice("weights/".length)] = await entry.array(name);
  }
  const net = new Classifier(config, 0);
  importParams(net, weights);
  return net;
}

/**
 * Images `x [N, H, W, C]` and their class `labels [N]` from a dataset stage (input `name`, for errors).
 *
 * @example
 * ```ts
 * const { x, labels } = await readLabelledImages(ctx.input("train"), "train");
 * ```
 */
export async function readLabelledImages(
  entry: InputEntry,
  name: string,
): Promise<{ x: NDArray; labels: Int32Array }> {
  if (!entry.has("x") || !entry.has("labels")) {
    throw new StageMismatchError(
      `input ${name}: stage ${entry.stageId} has no ${
        entry.has("x") ? "labels" : "images x"
      } (wire a dataset stage with labelled images, e.g. source mnist)`,
    );
  }
  const x = await entry.array("x");
  if (x.shape.length !== 4) {
    throw new StageMismatchError(
      `input ${name}: stage ${entry.stageId} has x of shape [${x.shape}], not images [N, H, W, C]`,
    );
  }
  const l = await entry.array("labels");
  if (l.shape[0] !== x.shape[0]) {
    throw new StageMismatchError(
      `input ${name}: stage ${entry.stageId} has ${l.shape[0]} labels for ${x.shape[0]} images`,
    );
  }
  return { x, labels: l.data instanceof Int32Array ? l.data : Int32Array.from(l.data) };
}
