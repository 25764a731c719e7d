/**
 * Streaming pieces: turning a growing token list into complete-text increments, and a small
 * channel that turns callbacks into an async iterator.
 */

export type DecodeFn = (ids: number[]) => string;

/** Token ids are often cut mid-character (emoji, accents); a decoder shows the cut as U+FFFD. */
const REPLACEMENT_CHAR = '\uFFFD';

/**
 * Incremental detokenization: decode a short window of recent tokens twice (without and with the
 * new ones) and emit the difference, holding text back while it ends in U+FFFD (an incomplete
 * character). The window starts with a few context tokens (the prompt's tail) so tokenizers that
 * treat the first token specially (SentencePiece's leading space) decode mid-sequence tokens right.
 */
export class IncrementalDetokenizer {
  private readonly tokens: number[];
  private prefixOffset = 0;
  private readOffset: number;

  constructor(
    private readonly decode: DecodeFn,
    context: readonly number[] = [],
  ) {
    this.tokens = [...context];
    this.readOffset = this.tokens.length;
  }

  /** Add tokens; returns the newly completed text (possibly empty). */
  push(ids: readonly number[]): string {
    this.tokens.push(...ids);
    const prefix = this.decode(this.tokens.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.tokens.slice(this.prefixOffset));
    if (text.length <= prefix.length || text.endsWith(REPLACEMENT_CHAR)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.tokens.length;
    return text.slice(prefix.length);
  }

  /** Whatever is still held back (an incomplete character at the very end stays U+FFFD). */
  flush(): string {
    if (this.readOffset === this.tokens.length) return '';
    const prefix = this.decode(this.tokens.slice(this.prefixOffset, this.readOffset));
    const text = this.decode(this.tokens.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset;
    this.readOffset = this.tokens.length;
    return text.slice(prefix.length);
  }
}

/** A single-consumer queue: `push` from callbacks, read with `for await`. */
export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** End the stream; with an error, the consumer's loop throws it after the queued items. */
  close(error?: unknown): void {
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
  }

  private wake(): void {
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
