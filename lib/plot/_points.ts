/**
 * Sample sets as plots take them: rows of points, and the axis ranges that show most of them.
 *
 * ```ts
 * const pts: PointMatrix = { shape: [3, 2], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
 * robustRanges([pts], 2); // one padded [lo, hi] per feature
 * ```
 *
 * @module
 */

/**
 * Rows of points: `shape[0]` points of `shape[1]` features (higher dimensions are flattened
 * into features), row-major, as an `NDArray` from the store is.
 *
 * ```ts
 * const pts: PointMatrix = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
 * ```
 */
export interface PointMatrix {
  shape: readonly number[];
  data: ArrayLike<number>;
}

/**
 * Default axis range of each feature: 0.5 % to 99.5 % quantiles over all layers, padded by 8 %,
 * so that a few wild samples do not squash the picture.
 *
 * ```ts
 * robustRanges([samples], 5); // [[lo, hi], …] for 5 features
 * ```
 */
export function robustRanges(sets: readonly PointMatrix[], features: number): [number, number][] {
  const out: [number, number][] = [];
  for (let f = 0; f < features; f++) {
    const values: number[] = [];
    for (const s of sets) {
      const n = s.shape[0], d = s.data.length / Math.max(1, n);
      const stride = Math.max(1, Math.floor(n / 20000));
      for (let i = 0; i < n; i += stride) {
        const v = s.data[i * d + f];
        if (Number.isFinite(v)) values.push(v);
      }
    }
    if (!values.length) {
      out.push([-1, 1]);
      continue;
    }
    values.sort((a, b) => a - b);
    const q = (p: number) =>
      values[Math.min(values.length - 1, Math.max(0, Math.round(p * (values.length - 1))))];
    let lo = q(0.005), hi = q(0.995);
    if (hi - lo < 1e-9) lo -= 1, hi += 1;
    const pad = (hi - lo) * 0.08;
    out.push([lo - pad, hi + pad]);
  }
  return out;
}
