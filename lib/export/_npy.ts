/**
 * NumPy's `.npy` format, version 1.0 (private): a magic string, a header that is a Python dict literal
 * (dtype, order, shape) padded so that the data starts at a multiple of 64 bytes, then the raw
 * little-endian values. Written by hand: the format is these few lines, and the npm packages for it
 * are readers, or unmaintained, or pull in a Node-only file layer.
 *
 * @module
 */
import { type DType, type NDArray, numel } from "../array.ts";

/** NumPy's type string for each dtype the store keeps (all little-endian; bytes have no order). */
const DESCR: Record<DType, string> = { float32: "<f4", float64: "<f8", int32: "<i4", uint8: "|u1" };

/** The dtype of a typed array, by its class. `dtypeName(new Int32Array(2)) === "int32"` */
export function dtypeName(data: NDArray["data"]): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  return "uint8";
}

/** Python's literal of a shape tuple: `()`, `(3,)`, `(3, 2)`. */
function shapeTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * The bytes of an `.npy` file holding `array` (C order, little-endian, version 1.0).
 *
 * @example
 * ```ts
 * const bytes = encodeNpy({ shape: [2, 3], data: new Float32Array(6) });
 * await Deno.writeFile("x.npy", bytes); // numpy.load("x.npy").shape == (2, 3)
 * ```
 */
export function encodeNpy(array: NDArray): Uint8Array {
  if (array.data.length !== numel(array.shape)) {
    throw new Error(
      `array of shape [${array.shape}] has ${array.data.length} values, needs ${numel(array.shape)}`,
    );
  }
  const dict = `{'descr': '${DESCR[dtypeName(array.data)]}', 'fortran_order': False, 'shape': ${
    shapeTuple(array.shape)
  }, }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending "\n".
  const unpadded = 10 + dict.length + 1;
  const header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
  const body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
