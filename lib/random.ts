/**
 * Seeded, splittable random numbers.
 *
 * Every stage gets its own stream derived from the spec's seed and the stage id; every
 * observation (row) of a sharded computation gets its own stream derived from the stage's
 * seed and the row index, so results do not depend on how the rows are split into shards.
 * The generator is xoshiro128** (32-bit state words, fast in JavaScript); seeds are mixed with
 * splitmix32 so that nearby seeds give unrelated streams.
 *
 * @module
 */

/** 32-bit FNV-1a hash of a string, used to turn labels into seed words. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Derive a 32-bit seed from a base seed and a path of labels.
 *
 * @example
 * ```ts
 * const s = deriveSeed(0, "em[3].fit", "shard", 2);
 * ```
 */
export function deriveSeed(base: number, ...path: (string | number)[]): number {
  let h = splitmix32(base >>> 0);
  for (const p of path) {
    const w = typeof p === "number" ? splitmix32(p >>> 0) : hashString(p);
    h = splitmix32(h ^ w);
  }
  return h;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A xoshiro128** stream with Gaussian draws. Its state can be saved and restored, which is how
 * checkpointed stages resume the exact same stream.
 *
 * @example
 * ```ts
 * const rng = Rng.fromSeed(42, "dataset");
 * const z = new Float32Array(10);
 * rng.fillNormal(z);
 * ```
 */
export class Rng {
  #s: Uint32Array;
  #spare: number | null = null;

  private constructor(state: Uint32Array) {
    this.#s = state;
  }

  /** A stream for `seed` and a path of labels (stage id, shard, row, …). */
  static fromSeed(seed: number, ...path: (string | number)[]): Rng {
    let x = deriveSeed(seed, ...path);
    const s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = splitmix32(x);
      s[i] = x;
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return new Rng(s);
  }

  /** Restore a stream saved with {@link Rng.state}. */
  static fromState(state: readonly number[]): Rng {
    if (state.length !== 5) throw new Error(`Rng.fromState: expected 5 numbers, got ${state.length}`);
    const rng = new Rng(Uint32Array.from(state.slice(0, 4)));
    rng.#spare = Number.isNaN(state[4]) ? null : state[4];
    return rng;
  }

  /** The stream's state as plain numbers (JSON-serialisable; NaN marks "no spare normal"). */
  state(): number[] {
    return [...this.#s, this.#spare ?? NaN];
  }

  /** An independent child stream named by `label`; this stream advances by one draw. */
  fork(...label: (string | number)[]): Rng {
    return Rng.fromSeed(this.uint32(), ...label);
  }

  /** Next 32-bit unsigned integer. */
  uint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box–Muller, both values used). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with standard normal draws. */
  fillNormal(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }

  /** Fill `out` with uniform draws in [0, 1). */
  fillUniform(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform();
  }

  /** Beta(a, b) draw for integer a, b ≥ 1 (via order statistics of uniforms). */
  betaInt(a: number, b: number): number {
    // Beta(a, b) = Gamma(a) / (Gamma(a) + Gamma(b)); Gamma(k) for integer k = -Σ log U.
    let ga = 0, gb = 0;
    for (let i = 0; i < a; i++) ga -= Math.log(1 - this.uniform());
    for (let i = 0; i < b; i++) gb -= Math.log(1 - this.uniform());
    return ga / (ga + gb);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * One stream per row: row `r` of a computation always draws from `Rng.fromSeed(seed, "row", r)`,
 * so a sharded computation gives the same numbers whatever the shard boundaries.
 *
 * @example
 * ```ts
 * const rows = new RowStreams(7, 100, 4); // rows 100..103
 * const eps = new Float32Array(4 * 5);
 * rows.fillNormal(eps, 5); // row-major, 5 values per row
 * ```
 */
export class RowStreams {
  readonly streams: Rng[];

  /** Streams for rows `first .. first + count - 1` of the computation seeded by `seed`. */
  constructor(seed: number, first: number, count: number) {
    this.streams = [];
    for (let r = 0; r < count; r++) this.streams.push(Rng.fromSeed(seed, "row", first + r));
  }

  /** Fill a row-major `[rows, dim]` buffer, each row from its own stream. */
  fillNormal(out: Float32Array | Float64Array, dim: number): void {
    const n = this.streams.length;
    if (out.length !== n * dim) {
      throw new Error(`RowStreams.fillNormal: buffer of ${out.length} values is not ${n} rows × ${dim}`);
    }
    for (let r = 0; r < n; r++) {
      const rng = this.streams[r];
      const base = r * dim;
      for (let j = 0; j < dim; j++) out[base + j] = rng.normal();
    }
  }

  /** Saved states of every row stream. */
  state(): number[][] {
    return this.streams.map((s) => s.state());
  }

  /** Restore streams saved with {@link RowStreams.state}. */
  static fromState(states: number[][]): RowStreams {
    const rs = Object.create(RowStreams.prototype) as RowStreams;
    (rs as { streams: Rng[] }).streams = states.map((s) => Rng.fromState(s));
    return rs;
  }
}
