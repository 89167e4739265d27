/**
 * Small dense linear algebra on the host, in float64: matrices, Cholesky solves, the symmetric
 * eigendecomposition, batched LU solves of small general systems. For the D × D and k × k systems
 * of Gaussian EM and exact posteriors (D = 5 on the manifold) and the m × m systems of exact MMPS,
 * where a GPU round trip would cost more than the arithmetic.
 *
 * Matrices are row-major `Float64Array`s with explicit sizes ({@link Matrix}). The routines are
 * written for the sizes of Gaussian posteriors in this project (D up to a few hundred): plain
 * loops, no blocking, float64 throughout so that the exact oracles in the tests are trustworthy.
 * Batched helpers (many tiny systems) work on flat buffers with an offset so they allocate
 * nothing per observation.
 *
 * @example
 * ```ts
 * import { cholesky, matrix } from "./mod.ts";
 * const { factor } = cholesky(matrix(2, 2, [4, 2, 2, 5])); // L = [[2, 0], [1, 2]]
 * ```
 *
 * @module
 */
export { identity, matmul, type Matrix, matrix, matvec, symmetrize, transpose } from "./_matrix.ts";
export { cholesky, choleskyInPlace, forwardSubstituteInPlace } from "./_cholesky.ts";
export { clipEigenvalues, symmetricEigen } from "./_eigen.ts";
export { luSolveBatchedInPlace } from "./_lu.ts";
