/**
 * Stopping criteria, one row at a time: each looks at a row's tokens so far (prompt included, the
 * newest token last) and says whether that row is done.
 */

export type StoppingCriterion = (tokens: readonly number[]) => boolean;

/** Done once the sequence holds `maxLength` tokens (prompt included). */
export function maxLengthCriterion(maxLength: number): StoppingCriterion {
  return (tokens) => tokens.length >= maxLength;
}

/** Done when the newest token is one of the EOS ids. */
export function eosCriterion(eosTokenIds: readonly number[]): StoppingCriterion {
  const eos = new Set(eosTokenIds);
  return (tokens) => tokens.length > 0 && eos.has(tokens[tokens.length - 1]!);
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Done when a stop string ends inside the newest token's text, as transformers'
 * StopStringCriteria (the newest token may run past the end of the stop string; the match may
 * start in earlier tokens). At most one token per character is needed, so only the last
 * `longest stop string` tokens are decoded.
 */
export function stopStringCriterion(stopStrings: readonly string[], decode: (ids: number[]) => string): StoppingCriterion {
  if (stopStrings.length === 0) return () => false;
  // Every token decodes to at least one byte, and byte-level BPE can split one character over several tokens,
  // so the last (UTF-8 length) tokens always hold the whole stop string.
  const window = Math.max(...stopStrings.map((s) => Buffer.byteLength(s, 'utf8')));
  return (tokens) => {
    if (tokens.length === 0) return false;
    const tail = tokens.slice(-window);
    const text = decode(tail);
    const newTokenStart = commonPrefixLength(decode(tail.slice(0, -1)), text);
    return stopStrings.some((stop) => text.indexOf(stop, Math.max(0, newTokenStart - stop.length + 1)) !== -1);
  };
}

export function anyCriterion(criteria: readonly StoppingCriterion[]): StoppingCriterion {
  return (tokens) => criteria.some((done) => done(tokens));
}
