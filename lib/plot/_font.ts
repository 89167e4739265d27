/**
 * A small bitmap font: 5 pixels wide, 7 above the baseline (capitals and digits), 2 below
 * (descenders of g, j, p, q, y, and the underscore), for printable ASCII and a few symbols
 * plots need (σ, μ, ±, ×, ·, −, —, Σ, ≈, ≤, ≥, →).
 *
 * Glyphs are drawn by {@link Canvas.text}; at scale 2 and above they are smoothed with Scale2x
 * (EPX) so that diagonals and curves do not look like staircases.
 *
 * ```ts
 * glyph("A")!.rows[0]; // 0b01110: the top row of "A"
 * ```
 *
 * @module
 */

/** Columns of a glyph. `glyphBitmap(g, 1).width === GLYPH_WIDTH` */
export const GLYPH_WIDTH = 5;
/** Rows above the baseline (cap height). `const capHeight = GLYPH_ASCENT * scale;` */
export const GLYPH_ASCENT = 7;
/** Rows below the baseline. `const lineHeight = (GLYPH_ASCENT + GLYPH_DESCENT) * scale;` */
export const GLYPH_DESCENT = 2;
/** Pixels from one glyph's left edge to the next one's, at scale 1. `const x2 = x + 2 * GLYPH_ADVANCE * scale;` */
export const GLYPH_ADVANCE = 6;

/**
 * A glyph: `GLYPH_ASCENT + GLYPH_DESCENT` rows, each a 5-bit mask whose bit 4 is the leftmost column.
 *
 * ```ts
 * const on = (glyph("T")!.rows[0] >> (4 - col)) & 1;
 * ```
 */
export interface Glyph {
  rows: number[];
}

// One string per glyph: rows top to bottom separated by "|", "#" = ink. Seven rows reach the
// baseline; two more rows, where given, hang below it.
const GLYPHS: Record<string, string> = {
  " ": ".....|.....|.....|.....|.....|.....|.....",
  "!": "..#..|..#..|..#..|..#..|..#..|.....|..#..",
  '"': ".#.#.|.#.#.|.....|.....|.....|.....|.....",
  "#": ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.",
  "$": "..#..|.####|#.#..|.###.|..#.#|####.|..#..",
  "%": "##...|##..#|...#.|..#..|.#...|#..##|...##",
  "&": ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#",
  "'": "..#..|..#..|.....|.....|.....|.....|.....",
  "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
  ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
  "*": ".....|..#..|#.#.#|.###.|#.#.#|..#..|.....",
  "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
  ",": ".....|.....|.....|.....|.....|.##..|.##..|..#..|.#...",
  "-": ".....|.....|.....|.###.|.....|.....|.....",
  ".": ".....|.....|.....|.....|.....|.##..|.##..",
  "/": ".....|....#|...#.|..#..|.#...|#....|.....",
  "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
  "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
  "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
  "3": "#####|...#.|..#..|...#.|....#|#...#|.###.",
  "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
  "5": "#####|#....|####.|....#|....#|#...#|.###.",
  "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
  "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
  "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
  "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
  ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
  ";": ".....|.##..|.##..|.....|.##..|.##..|..#..|.#...",
  "<": "...#.|..#..|.#...|#....|.#...|..#..|...#.",
  "=": ".....|.....|#####|.....|#####|.....|.....",
  ">": ".#...|..#..|...#.|....#|...#.|..#..|.#...",
  "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
  "@": ".###.|#...#|....#|.##.#|#.#.#|#.#.#|.###.",
  "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
  "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
  "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
  "D": "###..|#..#.|#...#|#...#|#...#|#..#.|###..",
  "E": "#####|#....|#....|####.|#....|#....|#####",
  "F": "#####|#....|#....|####.|#....|#....|#....",
  "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
  "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
  "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
  "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
  "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
  "L": "#....|#....|#....|#....|#....|#....|#####",
  "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
  "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
  "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
  "P": "####.|#...#|#...#|####.|#....|#....|#....",
  "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
  "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
  "S": ".####|#....|#....|.###.|....#|....#|####.",
  "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
  "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
  "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
  "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
  "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
  "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
  "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
  "[": ".###.|.#...|.#...|.#...|.#...|.#...|.###.",
  "\\": ".....|#....|.#...|..#..|...#.|....#|.....",
  "]": ".###.|...#.|...#.|...#.|...#.|...#.|.###.",
  "^": "..#..|.#.#.|#...#|.....|.....|.....|.....",
  "_": ".....|.....|.....|.....|.....|.....|.....|#####",
  "`": ".#...|..#..|.....|.....|.....|.....|.....",
  "a": ".....|.....|.###.|....#|.####|#...#|.####",
  "b": "#....|#....|#.##.|##..#|#...#|#...#|####.",
  "c": ".....|.....|.###.|#....|#....|#...#|.###.",
  "d": "....#|....#|.##.#|#..##|#...#|#...#|.####",
  "e": ".....|.....|.###.|#...#|#####|#....|.###.",
  "f": "..##.|.#..#|.#...|###..|.#...|.#...|.#...",
  "g": ".....|.....|.####|#...#|#...#|#...#|.####|....#|.###.",
  "h": "#....|#....|#.##.|##..#|#...#|#...#|#...#",
  "i": "..#..|.....|.##..|..#..|..#..|..#..|.###.",
  "j": "...#.|.....|..##.|...#.|...#.|...#.|...#.|#..#.|.##..",
  "k": "#....|#....|#..#.|#.#..|##...|#.#..|#..#.",
  "l": ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
  "m": ".....|.....|##.#.|#.#.#|#.#.#|#.#.#|#.#.#",
  "n": ".....|.....|#.##.|##..#|#...#|#...#|#...#",
  "o": ".....|.....|.###.|#...#|#...#|#...#|.###.",
  "p": ".....|.....|####.|#...#|#...#|#...#|####.|#....|#....",
  "q": ".....|.....|.####|#...#|#...#|#...#|.####|....#|....#",
  "r": ".....|.....|#.##.|##..#|#....|#....|#....",
  "s": ".....|.....|.####|#....|.###.|....#|####.",
  "t": ".#...|.#...|###..|.#...|.#...|.#..#|..##.",
  "u": ".....|.....|#...#|#...#|#...#|#..##|.##.#",
  "v": ".....|.....|#...#|#...#|#...#|.#.#.|..#..",
  "w": ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.",
  "x": ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#",
  "y": ".....|.....|#...#|#...#|#...#|#...#|.####|....#|.###.",
  "z": ".....|.....|#####|...#.|..#..|.#...|#####",
  "{": "...#.|..#..|..#..|.#...|..#..|..#..|...#.",
  "|": "..#..|..#..|..#..|..#..|..#..|..#..|..#..",
  "}": ".#...|..#..|..#..|...#.|..#..|..#..|.#...",
  "~": ".....|.....|.#...|#.#.#|...#.|.....|.....",
  "σ": ".....|.....|.####|#..#.|#...#|#...#|.###.",
  "μ": ".....|.....|#...#|#...#|#...#|##..#|#.##.|#....|#....",
  "Σ": "#####|#....|.#...|..#..|.#...|#....|#####",
  "·": ".....|.....|.....|.##..|.##..|.....|.....",
  "±": "..#..|..#..|#####|..#..|..#..|.....|#####",
  "×": ".....|#...#|.#.#.|..#..|.#.#.|#...#|.....",
  "−": ".....|.....|.....|#####|.....|.....|.....",
  "–": ".....|.....|.....|#####|.....|.....|.....",
  "—": ".....|.....|.....|#####|.....|.....|.....",
  "≈": ".....|.##.#|#..#.|.....|.##.#|#..#.|.....",
  "≤": "...#.|..#..|.#...|..#..|...#.|.....|.###.",
  "≥": ".#...|..#..|...#.|..#..|.#...|.....|.###.",
  "→": ".....|..#..|...#.|#####|...#.|..#..|.....",
  "□": "#####|#...#|#...#|#...#|#...#|#...#|#####",
};

const PARSED = new Map<string, Glyph>();
for (const [ch, art] of Object.entries(GLYPHS)) {
  const lines = art.split("|");
  if (
    lines.length < GLYPH_ASCENT || lines.length > GLYPH_ASCENT + GLYPH_DESCENT ||
    lines.some((l) => l.length !== GLYPH_WIDTH)
  ) {
    throw new Error(`font: glyph ${JSON.stringify(ch)} is malformed`);
  }
  const rows = lines.map((l) => [...l].reduce((m, c) => (m << 1) | (c === "#" ? 1 : 0), 0));
  while (rows.length < GLYPH_ASCENT + GLYPH_DESCENT) rows.push(0);
  PARSED.set(ch, { rows });
}

/**
 * The glyph of one character, or the "□" box for characters the font does not have.
 *
 * ```ts
 * glyph("é"); // the box glyph
 * ```
 */
export function glyph(ch: string): Glyph {
  return PARSED.get(ch) ?? PARSED.get("□")!;
}

/**
 * Whether the font has a glyph of its own for `ch`.
 *
 * ```ts
 * hasGlyph("σ"); // true
 * ```
 */
export function hasGlyph(ch: string): boolean {
  return PARSED.has(ch);
}

/**
 * A glyph as a boolean bitmap at integer `scale`, `GLYPH_WIDTH·scale` wide and
 * `(GLYPH_ASCENT + GLYPH_DESCENT)·scale` tall. Scales 2 and 3 use Scale2x/Scale3x (EPX) so that
 * edges are smoothed rather than blocky; larger scales enlarge the Scale2x bitmap.
 *
 * ```ts
 * const bits = glyphBitmap(glyph("a"), 2); // 10 × 18
 * ```
 */
export function glyphBitmap(g: Glyph, scale: number): Bitmap {
  const h0 = GLYPH_ASCENT + GLYPH_DESCENT;
  let b: Bitmap = { width: GLYPH_WIDTH, height: h0, bits: new Uint8Array(GLYPH_WIDTH * h0) };
  for (let r = 0; r < h0; r++) {
    for (let c = 0; c < b.width; c++) b.bits[r * b.width + c] = (g.rows[r] >> (GLYPH_WIDTH - 1 - c)) & 1;
  }
  let remaining = Math.max(1, Math.round(scale));
  if (remaining === 3) return scale3x(b);
  while (remaining >= 2 && remaining % 2 === 0) b = scale2x(b), remaining /= 2;
  // Odd factors other than 3: nearest-neighbour enlargement.
  return remaining > 1 ? enlarge(b, remaining) : b;
}

/** A boolean bitmap, row-major. */
interface Bitmap {
  width: number;
  height: number;
  bits: Uint8Array;
}

/** The bit at (x, y), 0 outside the bitmap. */
function bitAt(b: Bitmap, x: number, y: number): number {
  return x < 0 || y < 0 || x >= b.width || y >= b.height ? 0 : b.bits[y * b.width + x];
}

/** Scale3x: each pixel E with neighbours A B C / D E F / G H I becomes a 3×3 block. */
function scale3x(b: Bitmap): Bitmap {
  const { width, height } = b;
  const out = new Uint8Array(width * 3 * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const A = bitAt(b, x - 1, y - 1), B = bitAt(b, x, y - 1), C = bitAt(b, x + 1, y - 1);
      const D = bitAt(b, x - 1, y), E = bitAt(b, x, y), F = bitAt(b, x + 1, y);
      const G = bitAt(b, x - 1, y + 1), H = bitAt(b, x, y + 1), I = bitAt(b, x + 1, y + 1);
      let e = [E, E, E, E, E, E, E, E, E];
      if (B !== H && D !== F) {
        e = [
          D === B ? D : E,
          (D === B && E !== C) || (B === F && E !== A) ? B : E,
          B === F ? F : E,
          (D === B && E !== G) || (D === H && E !== A) ? D : E,
          E,
          (B === F && E !== I) || (H === F && E !== C) ? F : E,
          D === H ? D : E,
          (D === H && E !== I) || (H === F && E !== G) ? H : E,
          H === F ? F : E,
        ];
      }
      for (let k = 0; k < 9; k++) out[(y * 3 + Math.floor(k / 3)) * width * 3 + x * 3 + (k % 3)] = e[k];
    }
  }
  return { width: width * 3, height: height * 3, bits: out };
}

/** Scale2x: E becomes E0 E1 / E2 E3, each copying a neighbour where two neighbours agree. */
function scale2x(b: Bitmap): Bitmap {
  const { width, height } = b;
  const out = new Uint8Array(width * 2 * height * 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const B = bitAt(b, x, y - 1), D = bitAt(b, x - 1, y), E = bitAt(b, x, y);
      const F = bitAt(b, x + 1, y), H = bitAt(b, x, y + 1);
      let e0 = E, e1 = E, e2 = E, e3 = E;
      if (B !== H && D !== F) {
        e0 = D === B ? D : E;
        e1 = B === F ? F : E;
        e2 = D === H ? D : E;
        e3 = H === F ? F : E;
      }
      const o = y * 2 * width * 2 + x * 2;
      out[o] = e0, out[o + 1] = e1, out[o + width * 2] = e2, out[o + width * 2 + 1] = e3;
    }
  }
  return { width: width * 2, height: height * 2, bits: out };
}

/** Each pixel becomes a `k` × `k` block. */
function enlarge(b: Bitmap, k: number): Bitmap {
  const { width, height, bits } = b;
  const out = new Uint8Array(width * k * height * k);
  for (let y = 0; y < height * k; y++) {
    for (let x = 0; x < width * k; x++) {
      out[y * width * k + x] = bits[Math.floor(y / k) * width + Math.floor(x / k)];
    }
  }
  return { width: width * k, height: height * k, bits: out };
}
