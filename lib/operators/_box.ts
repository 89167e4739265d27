/**
 * Box inpainting: y_i = m_i ⊙ (x_i + σ_y ε) where m_i hides one random `height × width` box of image i
 * (all its channels) and observes every other pixel. The box lies inside the image, its top-left corner
 * uniform over the H − height + 1 by W − width + 1 possible places. Parameters are the mask itself (`mask`,
 * uint8 `[N, H, W, C]`, 1 = observed), so A = diag(m_i) and every code path of the mask family (bind,
 * host versions, dense rows, the pixel-basis `normal`) serves boxes unchanged.
 *
 * Sizes are in pixels (integers, 1 ≤ height ≤ H, 1 ≤ width ≤ W); the default is half the image each way
 * (rounded up), which hides about a quarter of it.
 *
 * Private to lib/operators; import from `mod.ts`.
 *
 * @module
 */
import type { Rng } from "../random.ts";
import { eventSize, InvalidOperatorError } from "./_common.ts";
import { channelsOf, maskFamily } from "./_mask.ts";
import type { OperatorFamily } from "./types.ts";

/** Configuration of {@link boxOperator}. */
export interface BoxConfig {
  /** Event shape of x: `[H, W]` or `[H, W, C]`. */
  xShape: readonly number[];
  /** Box height in pixels (default ⌈H/2⌉). */
  height?: number;
  /** Box width in pixels (default ⌈W/2⌉). */
  width?: number;
}

/**
 * The box-inpainting family.
 *
 * @example
 * ```ts
 * const op = boxOperator({ xShape: [28, 28, 1], height: 14, width: 14 });
 * const { y, params } = op.corrupt(x, seed, 1e-3); // params.mask: uint8 [N, 28, 28, 1], 0 inside the box
 * ```
 */
export function boxOperator(config: BoxConfig): OperatorFamily {
  const { xShape, d } = eventSize(config.xShape);
  if (xShape.length < 2 || xShape.length > 3) {
    throw new InvalidOperatorError(`box: xShape must be an image [H, W] or [H, W, C], got [${xShape}]`);
  }
  const [h, w] = xShape;
  const bh = config.height ?? Math.ceil(h / 2), bw = config.width ?? Math.ceil(w / 2);
  for (const [name, v, max] of [["height", bh, h], ["width", bw, w]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new InvalidOperatorError(
        `box: ${name} must be an integer number of pixels in [1, ${max}], got ${v}`,
      );
    }
  }
  const c = channelsOf(xShape);
  const drawMask = (s: Rng, out: Uint8Array): void => {
    const top = Math.floor(s.uniform() * (h - bh + 1));
    const left = Math.floor(s.uniform() * (w - bw + 1));
    out.fill(1);
    for (let i = top; i < top + bh; i++) out.fill(0, (i * w + left) * c, (i * w + left + bw) * c);
  };
  return maskFamily({ xShape, d, kind: "box", drawMask });
}
