/**
 * The orthonormal 2-D discrete Fourier transform of images `[H, W, C]` (each channel separately), as two small
 * matrix products: X = F_H x F_W with F_n[k, j] = e^{−2πi·kj/n} / √n (symmetric and unitary, so F⁻¹ = F̄).
 * Real and imaginary parts are carried as separate real arrays, so the TF version is plain real matmuls and
 * transposes that every backend runs; the host version is float64, the reference and what the exact Gaussian
 * posterior uses. Cost O(H·W·(H + W)) per channel.
 *
 * Private to lib/operators.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * F_n = cos + i·sin as two row-major n × n float64 matrices (`sin` holds −sin(2π·kj/n)/√n). Angles are
 * reduced modulo n first, and multiples of π are set exactly (sin 0, cos ±1), so the imaginary rows of
 * self-conjugate frequencies are exactly zero.
 *
 * @example
 * ```ts
 * const { cos, sin } = dftMatrix(4); // cos[1 * 4 + 2] = −1/2, sin[1 * 4 + 1] = −1/2
 * ```
 */
export function dftMatrix(n: number): { cos: Float64Array; sin: Float64Array } {
  const cached = dftMatrices.get(n);
  if (cached) return cached;
  const cos = new Float64Array(n * n), sin = new Float64Array(n * n);
  const scale = 1 / Math.sqrt(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const r = (k * j) % n;
      if ((2 * r) % n === 0) {
        cos[k * n + j] = (r === 0 ? 1 : -1) * scale;
        continue;
      }
      const angle = (2 * Math.PI * r) / n;
      cos[k * n + j] = Math.cos(angle) * scale;
      sin[k * n + j] = -Math.sin(angle) * scale;
    }
  }
  dftMatrices.set(n, { cos, sin });
  return { cos, sin };
}

/** DFT matrices by size: the host transforms ask for them once per image. Callers must not write to them. */
const dftMatrices = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** A complex image `[H, W, C]` as real and imaginary parts (row-major, channel last). */
export interface ComplexImage {
  re: Float64Array;
  im: Float64Array;
}

/**
 * The orthonormal 2-D DFT (or, with `inverse`, its inverse F̄ · F̄) of each channel of a complex `[H, W, C]`
 * image, in float64.
 *
 * @example
 * ```ts
 * const X = dft2Host({ re: x, im: new Float64Array(x.length) }, 28, 28, 1, false);
 * ```
 */
export function dft2Host(z: ComplexImage, h: number, w: number, c: number, inverse: boolean): ComplexImage {
  const fh = dftMatrix(h), fw = dftMatrix(w);
  const s = inverse ? -1 : 1;
  // Along W: row i, frequency l = Σ_m F_W[l, m] z[i, m].
  const rowRe = new Float64Array(h * w * c), rowIm = new Float64Array(h * w * c);
  for (let i = 0; i < h; i++) {
    for (let l = 0; l < w; l++) {
      for (let ch = 0; ch < c; ch++) {
        let ar = 0, ai = 0;
        for (let m = 0; m < w; m++) {
          const fr = fw.cos[l * w + m], fi = s * fw.sin[l * w + m];
          const zr = z.re[(i * w + m) * c + ch], zi = z.im[(i * w + m) * c + ch];
          ar += fr * zr - fi * zi;
          ai += fr * zi + fi * zr;
        }
        rowRe[(i * w + l) * c + ch] = ar;
        rowIm[(i * w + l) * c + ch] = ai;
      }
    }
  }
  // Along H: frequency k = Σ_i F_H[k, i] row[i].
  const re = new Float64Array(h * w * c), im = new Float64Array(h * w * c);
  for (let k = 0; k < h; k++) {
    for (let i = 0; i < h; i++) {
      const fr = fh.cos[k * h + i], fi = s * fh.sin[k * h + i];
      for (let q = 0; q < w * c; q++) {
        const zr = rowRe[i * w * c + q], zi = rowIm[i * w * c + q];
        re[k * w * c + q] += fr * zr - fi * zi;
        im[k * w * c + q] += fr * zi + fi * zr;
      }
    }
  }
  return { re, im };
}

/**
 * The 2-D DFT of real `[B, H, W, C]` tensors and the real part of its inverse, as TF matrix products.
 *
 * @example
 * ```ts
 * const dft = new DftTf(28, 28);
 * const [re, im] = dft.forward(x); // each [B, 28, 28, C]
 * const back = dft.inverseReal(re, im); // ≈ x
 * dft.dispose();
 * ```
 */
export class DftTf {
  readonly #ch: tf.Tensor2D;
  readonly #sh: tf.Tensor2D;
  readonly #cw: tf.Tensor2D;
  readonly #sw: tf.Tensor2D;

  constructor(readonly h: number, readonly w: number) {
    const fh = dftMatrix(h), fw = dftMatrix(w);
    this.#ch = tf.tensor2d(Float32Array.from(fh.cos), [h, h]);
    this.#sh = tf.tensor2d(Float32Array.from(fh.sin), [h, h]);
    this.#cw = tf.tensor2d(Float32Array.from(fw.cos), [w, w]);
    this.#sw = tf.tensor2d(Float32Array.from(fw.sin), [w, w]);
  }

  /** [Re, Im] of F_H x F_W for a real x `[B, H, W, C]`, each `[B, H, W, C]`. */
  forward(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      const [b, , , c] = x.shape;
      const rows = this.#rowsOf(x);
      const p = this.#columnsOf(tf.matMul(rows, this.#cw), b * c);
      const q = this.#columnsOf(tf.matMul(rows, this.#sw), b * c);
      const re = tf.sub(tf.matMul(p, this.#ch), tf.matMul(q, this.#sh));
      const im = tf.add(tf.matMul(q, this.#ch), tf.matMul(p, this.#sh));
      return [this.#imagesOf(re, b, c), this.#imagesOf(im, b, c)];
    });
  }

  /** Re(F̄_H (u + i v) F̄_W) for `u`, `v` `[B, H, W, C]`: the adjoint of x ↦ (Re, Im) of the DFT. */
  inverseReal(u: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, , , c] = u.shape;
      const ru = this.#rowsOf(u), rv = this.#rowsOf(v);
      // (u + iv)(C − iS) = (uC + vS) + i(vC − uS) along W, then Re((C − iS)(p + iq)) = Cp + Sq along H.
      const p = this.#columnsOf(tf.add(tf.matMul(ru, this.#cw), tf.matMul(rv, this.#sw)), b * c);
      const q = this.#columnsOf(tf.sub(tf.matMul(rv, this.#cw), tf.matMul(ru, this.#sw)), b * c);
      return this.#imagesOf(tf.add(tf.matMul(p, this.#ch), tf.matMul(q, this.#sh)), b, c);
    });
  }

  /** `[B, H, W, C]` → `[B·C·H, W]`: one image row per matrix row. */
  #rowsOf(x: tf.Tensor4D): tf.Tensor2D {
    return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [-1, this.w]);
  }

  /** `[B·C·H, W]` → `[B·C·W, H]`: one image column per matrix row. */
  #columnsOf(t: tf.Tensor, planes: number): tf.Tensor2D {
    return tf.reshape(tf.transpose(tf.reshape(t, [planes, this.h, this.w]), [0, 2, 1]), [-1, this.h]);
  }

  /** `[B·C·W, H]` → `[B, H, W, C]`. */
  #imagesOf(t: tf.Tensor, b: number, c: number): tf.Tensor4D {
    return tf.transpose(tf.reshape(t, [b, c, this.w, this.h]), [0, 3, 2, 1]);
  }

  /** Free the DFT matrices. */
  dispose(): void {
    for (const t of [this.#ch, this.#sh, this.#cw, this.#sw]) t.dispose();
  }
}
