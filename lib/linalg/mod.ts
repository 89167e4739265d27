/**
 * Small dense linear algebra on the host, in float64: matrices, Cholesky and LU solves, the
 * symmetric eigendecomposition. For the D × D and k × k systems of Gaussian EM and exact posteriors
 * (D = 5 on the manifold), where a GPU round trip would cost more than the arithmetic.
 *
 * @example
 * ```ts
 * import { matrix, solveSPD } from "./mod.ts";
 * solveSPD(matrix(2, 2, [2, 0, 0, 4]), [2, 4]); // Float64Array [1, 1]
 * ```
 *
 * @module
 */
export * from "./dense.ts";
