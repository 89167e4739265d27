/**
 * Gradients on TensorFlow.js. `@tensorflow/tfjs-core` alone registers no gradient definitions in Deno (see
 * `vendor/build_gradients.sh`); this module registers TF.js's own (bundled, Apache-2.0) when it is imported,
 * and is the only way the code here takes a gradient: whatever differentiates imports its functions from
 * here, so the definitions are there by construction, never by the side effect of an unrelated import.
 *
 * @example
 * ```ts
 * import { grad, variableGrads } from "./gradients.ts";
 * const g = grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2])); // [2, 4]
 * const { value, grads } = variableGrads(() => loss(), Object.values(net.params()));
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "./vendor/tfjs_core_gradients.js";

/** `tf.grad`: the gradient of a scalar function of one tensor. */
export const grad: typeof tf.grad = tf.grad;
/** `tf.grads`: the gradients of a scalar function of several tensors. */
export const grads: typeof tf.grads = tf.grads;
/** `tf.variableGrads`: the value of a scalar loss and its gradients with respect to variables. */
export const variableGrads: typeof tf.variableGrads = tf.variableGrads;
/** `tf.valueAndGrad`: a function's value and its vector–Jacobian product with a given cotangent `dy`. */
export const valueAndGrad: typeof tf.valueAndGrad = tf.valueAndGrad;
