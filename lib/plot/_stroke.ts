/**
 * Stroking of polylines on a pixel grid: splitting a polyline into the segments of a dash pattern,
 * and each segment's anti-aliased pixel coverage.
 *
 * ```ts
 * const coverage = new Map<number, number>();
 * for (const s of dashSegments([[0, 0], [40, 10]], [6, 4])) addSegmentCoverage(coverage, s, 1, 64, 64);
 * ```
 *
 * @module
 */

/** A straight piece of a stroke: from (ax, ay) to (bx, by). `const s: Segment = [0, 0, 10, 5];` */
export type Segment = [number, number, number, number];

/**
 * The segments of a polyline through `points`: one per edge, or the inked pieces of a dash pattern
 * (lengths of ink and gap, repeated), which continues across corners.
 *
 * ```ts
 * dashSegments([[0, 0], [10, 0]], [4, 2]); // [[0, 0, 4, 0], [6, 0, 10, 0]]
 * ```
 */
export function dashSegments(
  points: readonly (readonly [number, number])[],
  pattern: readonly number[] | undefined,
): Segment[] {
  const segments: Segment[] = [];
  const dash = pattern && pattern.length >= 2 && pattern.some((d) => d > 0) ? pattern : null;
  let dashIndex = 0, dashLeft = dash ? dash[0] : Infinity;
  for (let k = 0; k + 1 < points.length; k++) {
    const [ax, ay] = points[k], [bx, by] = points[k + 1];
    const len = Math.hypot(bx - ax, by - ay);
    if (!dash) {
      segments.push([ax, ay, bx, by]);
      continue;
    }
    let t = 0;
    while (t < len) {
      const step = Math.min(dashLeft, len - t);
      if (dashIndex % 2 === 0) {
        const s0 = t / len, s1 = (t + step) / len;
        segments.push([ax + (bx - ax) * s0, ay + (by - ay) * s0, ax + (bx - ax) * s1, ay + (by - ay) * s1]);
      }
      t += step;
      dashLeft -= step;
      if (dashLeft <= 1e-9) dashIndex = (dashIndex + 1) % dash.length, dashLeft = dash[dashIndex];
    }
  }
  return segments;
}

/**
 * Add the coverage (0–1) of the pixels of a `width`×`height` raster by a segment stroked
 * `2 · half` wide to `coverage` (keyed by `y · width + x`), keeping each pixel's largest.
 *
 * ```ts
 * addSegmentCoverage(coverage, [0, 10.5, 20, 10.5], 0.5, 64, 64); // a crisp 1-pixel line
 * ```
 */
export function addSegmentCoverage(
  coverage: Map<number, number>,
  [ax, ay, bx, by]: Segment,
  half: number,
  width: number,
  height: number,
): void {
  const minX = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1)),
    maxX = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + half + 1));
  const minY = Math.max(0, Math.floor(Math.min(ay, by) - half - 1)),
    maxY = Math.min(height - 1, Math.ceil(Math.max(ay, by) + half + 1));
  const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
  const steep = Math.abs(dy) > Math.abs(dx);
  // Walk along the major axis and look at a window across it: the segment's pixels only.
  const across = half + 1.5;
  const [lo, hi] = steep ? [minY, maxY] : [minX, maxX];
  for (let m = lo; m <= hi; m++) {
    const c = m + 0.5;
    // Position across at this major coordinate (clamped to the segment's ends).
    let t = steep ? (dy !== 0 ? (c - ay) / dy : 0) : (dx !== 0 ? (c - ax) / dx : 0);
    t = Math.max(0, Math.min(1, t));
    const mid = steep ? ax + dx * t : ay + dy * t;
    const span = steep
      ? across * Math.hypot(dx, dy) / Math.max(Math.abs(dy), 1e-9)
      : across * Math.hypot(dx, dy) / Math.max(Math.abs(dx), 1e-9);
    const from = Math.floor(mid - Math.min(span, 1e4)), to = Math.ceil(mid + Math.min(span, 1e4));
    for (let n = from; n <= to; n++) {
      const px = steep ? n : m, py = steep ? m : n;
      if (px < minX || px > maxX || py < minY || py > maxY) continue;
      const cx = px + 0.5, cy = py + 0.5;
      let u = len2 > 0 ? ((cx - ax) * dx + (cy - ay) * dy) / len2 : 0;
      u = Math.max(0, Math.min(1, u));
      const d = Math.hypot(cx - (ax + u * dx), cy - (ay + u * dy));
      const cov = Math.max(0, Math.min(1, half + 0.5 - d));
      if (cov <= 0) continue;
      const key = py * width + px;
      if ((coverage.get(key) ?? 0) < cov) coverage.set(key, cov);
    }
  }
}
