/**
 * Colours of the raster plots: RGBA tuples, `#rrggbb` parsing, and the categorical palette.
 *
 * ```ts
 * const blue = parseColor("#1f77b4", 0.5);
 * const faint = withAlpha(BLACK, 0.2);
 * ```
 *
 * @module
 */

/**
 * A colour: red, green, blue in 0–255 and alpha (opacity) in 0–1.
 *
 * ```ts
 * const halfRed: Color = [255, 0, 0, 0.5];
 * ```
 */
export type Color = readonly [number, number, number, number];

/**
 * Parse `#rgb`, `#rrggbb` or `#rrggbbaa` into a {@link Color}, with optional opacity override.
 *
 * ```ts
 * parseColor("#1f77b4", 0.3); // [31, 119, 180, 0.3]
 * ```
 */
export function parseColor(hex: string, alpha?: number): Color {
  const m = hex.trim().replace(/^#/, "");
  const full = m.length === 3 ? [...m].map((c) => c + c).join("") : m;
  if (!/^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(full)) throw new Error(`bad colour "${hex}"`);
  const v = (i: number) => parseInt(full.slice(i, i + 2), 16);
  return [v(0), v(2), v(4), alpha ?? (full.length === 8 ? v(6) / 255 : 1)];
}

/**
 * The same colour with another opacity.
 *
 * ```ts
 * withAlpha(BLACK, 0.2); // [0, 0, 0, 0.2]
 * ```
 */
export function withAlpha(c: Color, alpha: number): Color {
  return [c[0], c[1], c[2], alpha];
}

/** Opaque white. `new Canvas(w, h, WHITE)` */
export const WHITE: Color = [255, 255, 255, 1];
/** Opaque black. `c.text("x", 0, 0, { color: BLACK })` */
export const BLACK: Color = [0, 0, 0, 1];

/**
 * A categorical palette (Tableau 10, as in matplotlib): distinguishable, print- and
 * colour-blind-friendlier than saturated primaries.
 *
 * ```ts
 * const colorOfSeries = (i: number) => parseColor(PALETTE[i % PALETTE.length]);
 * ```
 */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
];

/**
 * A colour given as `#rrggbb` or as a {@link Color}, or `fallback` when not given.
 *
 * ```ts
 * toColor(undefined, PALETTE[0]); // the palette's blue
 * ```
 */
export function toColor(c: string | Color | undefined, fallback: string | Color): Color {
  const v = c ?? fallback;
  return typeof v === "string" ? parseColor(v) : v;
}
