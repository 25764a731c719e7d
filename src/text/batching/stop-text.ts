/**
 * A sequence's generated text as it streams: complete characters only (IncrementalDetokenizer),
 * and text that could be the start of a stop string held back until it is known not to be one.
 */
import { IncrementalDetokenizer, type DecodeFn } from '../streamer.js';

export class StreamedText {
  private readonly detokenizer: IncrementalDetokenizer;
  /** Everything decoded so far (cut at a stop string once one is found). */
  private decoded = '';
  /** Characters of `decoded` already handed out as deltas. */
  private sent = 0;
  private readonly longestStop: number;

  constructor(
    decode: DecodeFn,
    context: readonly number[],
    private readonly stops: readonly string[],
  ) {
    this.detokenizer = new IncrementalDetokenizer(decode, context);
    this.longestStop = Math.max(0, ...stops.map((s) => s.length));
  }

  get text(): string {
    return this.decoded;
  }

  /** Add a token; returns the text now safe to show, and whether a stop string appeared (the text ends before it). */
  push(token: number): { delta: string; stopped: boolean } {
    const added = this.detokenizer.push([token]);
    if (added.length === 0) return { delta: '', stopped: false };
    const from = this.decoded.length;
    this.decoded += added;
    if (this.stops.length === 0) return { delta: this.take(this.decoded.length), stopped: false };
    // A stop string can start at most longestStop - 1 characters before the new text.
    const searchFrom = Math.max(0, from - this.longestStop + 1);
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.decoded.indexOf(stop, searchFrom);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.decoded = this.decoded.slice(0, Math.max(cut, this.sent));
      return { delta: this.take(this.decoded.length), stopped: true };
    }
    return { delta: this.take(this.decoded.length - this.heldBack()), stopped: false };
  }

  /** The end of the sequence: whatever was held back (no stop string came). */
  finish(): string {
    this.decoded += this.detokenizer.flush();
    return this.take(this.decoded.length);
  }

  /** Length of the longest suffix of the text that is a proper prefix of a stop string. */
  private heldBack(): number {
    let held = 0;
    for (const stop of this.stops) {
      for (let k = Math.min(stop.length - 1, this.decoded.length - this.sent); k > held; k--) {
        if (this.decoded.endsWith(stop.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  private take(end: number): string {
    if (end <= this.sent) return '';
    const delta = this.decoded.slice(this.sent, end);
    this.sent = end;
    return delta;
  }
}
