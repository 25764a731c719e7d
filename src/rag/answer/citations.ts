/** `[n]` citation markers in an answer, mapped back to the numbered sources the model was given. */

/** `[1]`, `[2, 3]`, `[1][4]` and `[2-4]` all cite; numbers are 1-based source numbers. */
const MARKER = /\[(\d+(?:\s*(?:,|-|–)\s*\d+)*)\]/g;

export interface CitationMarks {
  /** Source numbers cited, in order of first appearance, each once. */
  cited: number[];
  /** Numbers that name no source (the model invented them). */
  unknown: number[];
}

export function parseCitations(answer: string, sourceCount: number): CitationMarks {
  const seen = new Set<number>();
  const cited: number[] = [];
  const unknown: number[] = [];
  for (const match of answer.matchAll(MARKER)) {
    for (const part of match[1]!.split(',')) {
      const [from, to = from] = part.split(/-|–/).map((n) => Number.parseInt(n.trim(), 10)) as [number, number?];
      // A range wider than the sources is not a citation list ("[1-2000]" in a quoted text).
      if (to < from || to - from > sourceCount) continue;
      for (let n = from; n <= to; n++) {
        if (seen.has(n)) continue;
        seen.add(n);
        (n >= 1 && n <= sourceCount ? cited : unknown).push(n);
      }
    }
  }
  return { cited, unknown };
}
