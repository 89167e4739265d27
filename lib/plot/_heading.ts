/**
 * The title and subtitle above a figure: how much height they take, and drawing them, so that
 * every figure lays them out alike.
 *
 * ```ts
 * const top = 16 + headingHeight("lap 3", "sinkhorn 0.01", 2);
 * const below = drawHeading(canvas, 14, 16, "lap 3", "sinkhorn 0.01", 2); // === top
 * ```
 *
 * @module
 */
import { AXIS_COLOR } from "./_axes.ts";
import type { Canvas } from "./_canvas.ts";
import { BLACK } from "./_color.ts";

/**
 * Pixels that a title (bold, one text scale up) and a subtitle take, each with its gap below.
 *
 * ```ts
 * headingHeight("title", undefined, 2); // 31
 * ```
 */
export function headingHeight(title: string | undefined, subtitle: string | undefined, ts: number): number {
  return (title ? 7 * (ts + 1) + 10 : 0) + (subtitle ? 7 * ts + 10 : 0);
}

/**
 * Draw the title and subtitle (where given) from (x, y) down; returns the y below them.
 *
 * ```ts
 * const y = drawHeading(canvas, 14, 16, "Sinkhorn divergence", "log scale", 2);
 * ```
 */
export function drawHeading(
  canvas: Canvas,
  x: number,
  y: number,
  title: string | undefined,
  subtitle: string | undefined,
  ts: number,
): number {
  if (title) {
    canvas.text(title, x, y, { scale: ts + 1, bold: true, color: BLACK });
    y += 7 * (ts + 1) + 10;
  }
  if (subtitle) {
    canvas.text(subtitle, x, y, { scale: ts, color: AXIS_COLOR });
    y += 7 * ts + 10;
  }
  return y;
}
