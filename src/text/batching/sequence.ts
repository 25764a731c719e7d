/**
 * One request inside the engine: its token choice, streamed text and stop conditions, its event
 * buffer (the engine pushes and never waits for the reader) and its result.
 */
import { AsyncChannel } from '../streamer.js';
import type { TokenBias } from '../token-bias.js';
import { TokenChooser, type InModelChoice } from './choose.js';
import { StreamedText } from './stop-text.js';
import type { EngineModel, FinishReason, SequenceHandle, SequenceRequest, SequenceResult, TokenEvent } from './types.js';

/** Prompt tokens the detokenizer starts from, so the first new token decodes as it would mid-text. */
const CONTEXT_TOKENS = 5;

export class Sequence implements SequenceHandle {
  readonly result: Promise<SequenceResult>;
  /** The prompt, then the generated tokens (what logits processors see). */
  readonly tokens: number[];
  readonly generated: number[] = [];
  /** Set by cancel(); the batch drops the row at the next step boundary. */
  cancelRequested = false;
  done = false;
  private readonly channel = new AsyncChannel<TokenEvent>();
  private readonly chooser: TokenChooser;
  private readonly text: StreamedText;
  private readonly stopIds: ReadonlySet<number>;
  private readonly submittedAt = performance.now();
  private lastTokenAt = 0;
  private timeToFirstTokenMs = NaN;
  private readonly interTokenMs: number[] = [];
  private settle!: { resolve: (r: SequenceResult) => void; reject: (e: unknown) => void };
  private readonly onAbort = (): void => this.cancel();

  constructor(
    readonly request: SequenceRequest,
    readonly modelName: string,
    private readonly model: EngineModel,
    private readonly onCancel: (sequence: Sequence) => void,
  ) {
    this.tokens = [...request.promptIds];
    this.chooser = new TokenChooser(request.sampling ?? {}, request.logitsProcessors ?? [], request.topLogprobs);
    this.text = new StreamedText((ids) => model.decode(ids), request.promptIds.slice(-CONTEXT_TOKENS), request.stopStrings ?? []);
    this.stopIds = new Set(request.stopTokenIds ?? []);
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // A reader that only iterates must not see an unhandled rejection.
    this.result.catch(() => undefined);
    request.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get promptLength(): number {
    return this.request.promptIds.length;
  }

  /** The token fed at the next decode step. */
  get lastToken(): number {
    return this.tokens[this.tokens.length - 1]!;
  }

  [Symbol.asyncIterator](): AsyncIterator<TokenEvent> {
    return this.channel[Symbol.asyncIterator]();
  }

  cancel(): void {
    if (this.done || this.cancelRequested) return;
    this.cancelRequested = true;
    this.onCancel(this);
  }

  /** How the model can pick this sequence's next token (its bias goes into `row` of `bias`); undefined: step it with its logits. */
  planInModel(bias: TokenBias, row: number): InModelChoice | undefined {
    return this.chooser.planInModel(this.tokens, bias, row);
  }

  /** Choose this sequence's next token from its row of logits, or take the model's pick, and emit it; true when the sequence ended. */
  step(pick: { logits: Float32Array } | { token: number }): boolean {
    const { token, logprob, top } = 'token' in pick ? this.chooser.accept(pick.token) : this.chooser.choose(pick.logits, this.tokens);
    const now = performance.now();
    if (this.generated.length === 0) this.timeToFirstTokenMs = now - this.submittedAt;
    else this.interTokenMs.push(now - this.lastTokenAt);
    this.lastTokenAt = now;
    this.tokens.push(token);
    this.generated.push(token);
    let delta: string;
    let reason: FinishReason | undefined;
    if (this.stopIds.has(token)) {
      // The stop token's own text is not part of the answer.
      delta = this.text.finish();
      reason = 'stop';
    } else {
      const pushed = this.text.push(token);
      delta = pushed.delta;
      if (pushed.stopped) reason = 'stop';
      else if (this.generated.length >= this.request.maxNewTokens) {
        delta += this.text.finish();
        reason = 'length';
      }
    }
    const decode = (id: number): string => this.model.decode([id]);
    const event: TokenEvent = { token, text: decode(token), logprob, delta };
    if (top) event.top = top.map((t) => ({ ...t, text: decode(t.token) }));
    this.channel.push(event);
    if (reason) this.finish(reason);
    return reason !== undefined;
  }

  finish(reason: FinishReason): void {
    if (this.done) return;
    this.end();
    this.channel.close();
    this.settle.resolve({
      tokens: [...this.generated],
      text: this.text.text,
      finishReason: reason,
      promptTokens: this.promptLength,
      completionTokens: this.generated.length,
      timeToFirstTokenMs: this.timeToFirstTokenMs,
      interTokenMs: this.interTokenMs,
    });
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.end();
    this.channel.close(error);
    this.settle.reject(error);
  }

  private end(): void {
    this.done = true;
    this.request.signal?.removeEventListener('abort', this.onAbort);
  }
}
