/**
 * "Did you mean" hints for misspelt names (private to the engine; the engine's public surface
 * re-exports {@link suggest} from spec.ts).
 *
 * @module
 */

/** Levenshtein distance: insertions, deletions and substitutions that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length][b.length];
}

/**
 * Closest candidates to a misspelt name, for "did you mean" hints.
 *
 * @example
 * ```ts
 * suggest("laps", ["laps", "start"]); // 'did you mean "laps"? (valid: laps, start)'
 * suggest("lapz", ["laps", "start"]); // 'did you mean "laps"? (valid: laps, start)'
 * suggest("x", []); // "(none are valid here)"
 * ```
 */
export function suggest(word: string, candidates: readonly string[]): string {
  const close = candidates.filter((c) => {
    const d = editDistance(word, c);
    return d <= Math.max(1, Math.floor(c.length / 3)) && d < Math.max(word.length, c.length);
  });
  const list = candidates.length ? `valid: ${candidates.join(", ")}` : "none are valid here";
  return close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? (${list})` : `(${list})`;
}
