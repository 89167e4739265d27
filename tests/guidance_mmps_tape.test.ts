/**
 * MMPS's iterative solvers on one recorded forward pass (lib/tensor/vjp.ts) give the same posterior mean
 * as the same solver driven by tf.grad VJPs, each of which re-runs the network: an MLP prior (non-symmetric
 * Jacobian) under a projection and a U-Net prior under a mask, cg and mr with 1 and 3 iterations, and the
 * one-VJP covariances (`zero`, `cov_t`); no tensor is left behind.
 */
import { initBackend, tf } from "../lib/tensor/mod.ts";
import { grad } from "../lib/tensor/gradients.ts";
import { MLP, type NoiseConditionedNet, UNet } from "../lib/nn/mod.ts";
import { edmDenoiser } from "../lib/diffusion/mod.ts";
import { Rng } from "../lib/random.ts";
import { maskOperator, type OperatorFamily, projectionOperator } from "../lib/operators/mod.ts";
import { type CovarianceKind, mmpsDenoiser } from "../lib/guidance/mod.ts";
import { type SolverName, solvers } from "../lib/guidance/solvers.ts";
import { assert, assertClose } from "./tensor_assert.ts";
import { SMALL_UNET } from "./small_nets.ts";

await initBackend("wasm");

/** E[x | x_t, y] by the MMPS formula with a VJP that re-runs the prior (tf.grad) every time. */
function gradPathMean(
  prior: (x: tf.Tensor, s: tf.Tensor1D) => tf.Tensor,
  op: { apply(x: tf.Tensor): tf.Tensor; adjoint(y: tf.Tensor): tf.Tensor },
  y: tf.Tensor,
  sigmaY: number,
  xt: tf.Tensor,
  sigma: tf.Tensor1D,
  kind: CovarianceKind,
  solver: SolverName,
  maxiter: number,
): Float32Array {
  return tf.tidy(() => {
    const s2 = tf.reshape(tf.square(sigma), [xt.shape[0], ...new Array(xt.rank - 1).fill(1)]);
    const vjp = (u: tf.Tensor) => grad((x: tf.Tensor) => tf.sum(tf.mul(prior(x, sigma), u)))(xt);
    const xhat = prior(xt, sigma);
    const r = tf.sub(y, op.apply(xhat));
    let v = tf.div(r, sigmaY ** 2);
    if (kind !== "zero") {
      const cov = (w: tf.Tensor) => tf.mul(s2, kind === "mmps" ? vjp(w) : w);
      const matvec = (u: tf.Tensor) => tf.add(tf.mul(u, sigmaY ** 2), op.apply(cov(op.adjoint(u))));
      v = solvers[solver](matvec, r, { maxiter, rtol: 1e-6 }).x;
    }
    return tf.add(xhat, tf.mul(s2, vjp(op.adjoint(v)))).dataSync() as Float32Array;
  });
}

function compare(
  name: string,
  net: NoiseConditionedNet,
  family: OperatorFamily,
  xShape: number[],
  rows: number,
) {
  const sigmaY = 0.05;
  const prior = edmDenoiser(net);
  const x = new Float32Array(rows * xShape.reduce((a, b) => a * b, 1));
  Rng.fromSeed(4, name).fillNormal(x);
  const { y, params } = family.corrupt({ shape: [rows, ...xShape], data: x }, 9, sigmaY);
  const op = family.bind(params);
  const yt = tf.tensor(y.data, y.shape);
  const xt = tf.tensor(x, [rows, ...xShape]);
  const sigma = tf.tensor1d(Array.from({ length: rows }, (_, i) => 0.05 * 4 ** (i % 4)));
  const cases: [CovarianceKind, SolverName, number][] = [
    ["mmps", "cg", 1],
    ["mmps", "cg", 3],
    ["mmps", "mr", 3],
    ["zero", "cg", 1],
    ["cov_t", "cg", 3],
  ];
  for (const [kind, solver, maxiter] of cases) {
    const before = tf.memory().numTensors;
    const post = mmpsDenoiser(prior, op, yt, sigmaY, { covariance: kind, solver, maxiter });
    const out = post(xt, sigma);
    const got = out.dataSync();
    out.dispose(), post.dispose();
    assert(
      tf.memory().numTensors === before,
      `${name} ${kind}/${solver}: ${tf.memory().numTensors - before} leaked`,
    );
    const ref = gradPathMean(prior, op, yt, sigmaY, xt, sigma, kind, solver, maxiter);
    assertClose(got, ref, 1e-5, `${name} ${kind}/${solver}/${maxiter}`);
  }
  tf.dispose([yt, xt, sigma]);
  op.dispose(), net.dispose();
}

Deno.test("mmps on one recorded forward pass equals the tf.grad path: MLP prior, projection", () => {
  compare("mlp", new MLP({ features: 6, hidden: [32, 32] }, 5), projectionOperator({ xShape: [6], m: 4 }), [
    6,
  ], 8);
});

Deno.test("mmps on one recorded forward pass equals the tf.grad path: U-Net prior, mask", () => {
  const net = new UNet(
    SMALL_UNET,
    7,
  );
  compare("unet", net, maskOperator({ xShape: [8, 8, 1], keep: 0.5 }), [8, 8, 1], 4);
});
