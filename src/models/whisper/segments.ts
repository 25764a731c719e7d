/**
 * One window's generated tokens → timed segments, and how far the next window starts, as OpenAI's
 * sequential long-form transcription does: pairs of consecutive timestamps close a segment; if the
 * window ends inside a segment (a last lone timestamp is missing), the next window starts at the
 * last complete segment's end, so no speech is cut at a window edge.
 */
import type { WhisperTokens } from './tokens.js';

export interface WindowSegment {
  /** Seconds from the window's start. */
  start: number;
  end: number;
  /** Text tokens only (no timestamps, no special tokens). */
  tokens: number[];
}

export interface SplitWindow {
  segments: WindowSegment[];
  /** Seconds of the window that are done; the next window starts there. */
  consumed: number;
}

/**
 * Split `generated` (the new tokens of one window, EOS removed) into segments. `windowSeconds` is
 * the window's real audio length; times are clamped to it.
 */
export function splitWindow(generated: readonly number[], t: WhisperTokens, windowSeconds: number): SplitWindow {
  const isTime = generated.map((id) => id >= t.timestampBegin);
  const time = (id: number): number => Math.min((id - t.timestampBegin) * t.timePrecision, windowSeconds);
  const textOf = (ids: readonly number[]): number[] => ids.filter((id) => id < t.endOfText);
  const n = generated.length;
  const singleEnding = n >= 2 ? !isTime[n - 2] && isTime[n - 1]! : n === 1 && isTime[0]!;
  const consecutive: number[] = [];
  for (let i = 0; i + 1 < n; i++) if (isTime[i] && isTime[i + 1]) consecutive.push(i + 1);
  const segments: WindowSegment[] = [];
  let consumed = windowSeconds;
  if (consecutive.length > 0) {
    const slices = singleEnding ? [...consecutive, n] : consecutive;
    let last = 0;
    for (const current of slices) {
      const piece = generated.slice(last, current);
      const start = isTime[last] ? time(piece[0]!) : (segments[segments.length - 1]?.end ?? 0);
      const end = Math.max(start, isTime[current - 1] ? time(piece[piece.length - 1]!) : start);
      segments.push({ start, end, tokens: textOf(piece) });
      last = current;
    }
    if (!singleEnding) consumed = time(generated[last - 1]!);
  } else {
    const stamps = generated.filter((id) => id >= t.timestampBegin);
    const lastStamp = stamps[stamps.length - 1];
    const start = isTime[0] ? time(generated[0]!) : 0;
    const end = lastStamp !== undefined && lastStamp !== t.timestampBegin && stamps.length > (isTime[0] ? 1 : 0) ? time(lastStamp) : windowSeconds;
    segments.push({ start, end: Math.max(start, end), tokens: textOf(generated) });
  }
  // A window must move the stream on, or a model that keeps ending at <|0.00|> would loop forever.
  if (!(consumed > 0)) consumed = windowSeconds;
  return { segments: segments.filter((s) => s.tokens.length > 0), consumed };
}
