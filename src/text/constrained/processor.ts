/**
 * JSON-constrained decoding as a LogitsProcessor: each step, every token whose bytes would take the
 * recognizer to the dead state gets -Infinity; once the value is complete only EOS is left.
 */
import type { LogitsProcessor } from '../logits-processors.js';
import { JsonRecognizer, stringRun, type RecognizerLimits, type RecognizerState, type Thread } from './recognizer.js';
import { compileSchema } from './schema.js';
import { tokenVocabulary, utf8Class, type TokenVocabulary, type VocabularySource } from './vocabulary.js';

export interface JsonConstraintOptions extends Partial<RecognizerLimits> {
  /** A JSON schema (OpenAI's json_schema.schema); absent: any JSON object (json_object mode). */
  schema?: unknown;
  tokenizer: VocabularySource;
  /** Tokens that end generation (EOS and stop tokens): allowed exactly when the value is complete. */
  eosTokenIds: readonly number[];
}

/**
 * Makes one LogitsProcessor per sequence. Its first call's tokens are taken as the prompt (the
 * JSON starts after them) unless `promptLength` says where the prompt ends.
 */
export type JsonConstraintFactory = ((options?: { promptLength?: number }) => LogitsProcessor) & {
  readonly recognizer: JsonRecognizer;
  readonly vocabulary: TokenVocabulary;
};

/** Throws `UnsupportedSchemaError` (keyword + JSON pointer) for what cannot be enforced. */
export function jsonConstraint(options: JsonConstraintOptions): JsonConstraintFactory {
  const { schema, tokenizer, eosTokenIds } = options;
  if (eosTokenIds.length === 0) {
    throw new RangeError('jsonConstraint: eosTokenIds is empty; constrained decoding needs at least one EOS (or stop) token id to end on once the JSON is complete');
  }
  const recognizer = new JsonRecognizer(schema === undefined ? undefined : compileSchema(schema), options);
  const vocabulary = tokenVocabulary(tokenizer);
  const factory = (opts: { promptLength?: number } = {}): LogitsProcessor => new JsonSequence(recognizer, vocabulary, eosTokenIds, opts.promptLength).processor();
  return Object.assign(factory, { recognizer, vocabulary });
}

interface Seen {
  tokens: number[];
  state: RecognizerState;
}

const MAX_SEEN = 16;

/**
 * One sequence's state, keyed on the tokens it has seen: a call whose tokens extend a seen list
 * advances from there (beams that fork, or a speculative rewind, find their own prefix); any other
 * list is a new prompt whose generated part starts now. Prompts are kept for good, so a row whose
 * recent state was dropped is replayed from its prompt rather than mistaken for a new one.
 */
class JsonSequence {
  private readonly prompts: Seen[] = [];
  private readonly recent: Seen[] = [];
  private allowed: Uint8Array;
  private readonly states: RecognizerState[] = [];

  constructor(
    private readonly recognizer: JsonRecognizer,
    private readonly vocab: TokenVocabulary,
    private readonly eos: readonly number[],
    private promptLength?: number,
  ) {
    this.allowed = new Uint8Array(vocab.size);
  }

  processor(): LogitsProcessor {
    return (tokens, scores) => {
      if (this.promptLength !== undefined) {
        if (this.promptLength > tokens.length) throw new RangeError(`jsonConstraint: promptLength ${this.promptLength} is longer than the ${tokens.length} tokens given`);
        this.prompts.push({ tokens: tokens.slice(0, this.promptLength), state: this.recognizer.initial });
        this.promptLength = undefined;
      }
      this.mask(this.stateFor(tokens), scores);
    };
  }

  /** The recognizer state after `tokens`. */
  private stateFor(tokens: readonly number[]): RecognizerState {
    let best: Seen | undefined;
    for (const s of [...this.prompts, ...this.recent]) {
      if (s.tokens.length <= tokens.length && (!best || s.tokens.length > best.tokens.length) && isPrefix(s.tokens, tokens)) best = s;
    }
    if (!best) {
      this.prompts.push({ tokens: tokens.slice(), state: this.recognizer.initial });
      return this.recognizer.initial;
    }
    let state = best.state;
    for (let i = best.tokens.length; i < tokens.length && state.length > 0; i++) {
      const bytes = this.vocab.bytes[tokens[i]!];
      state = bytes ? this.recognizer.stepBytes(state, bytes) : [];
    }
    if (best.tokens.length !== tokens.length) {
      this.recent.push({ tokens: tokens.slice(), state });
      if (this.recent.length > MAX_SEEN) this.recent.shift();
    }
    return state;
  }

  private mask(state: RecognizerState, scores: Float32Array): void {
    const allowed = this.allowedTokens(state);
    const eosScores = this.eos.map((id) => scores[id]);
    for (const id of this.eos) if (id < allowed.length) allowed[id] = 0;
    let any = false;
    const n = Math.min(scores.length, allowed.length);
    for (let id = 0; id < n; id++) {
      if (allowed[id]) any = true;
      else scores[id] = -Infinity;
    }
    for (let id = n; id < scores.length; id++) scores[id] = -Infinity;
    // A dead state (the caller forced a masked token) or a dead end can only stop.
    if (this.recognizer.isComplete(state) || !any) {
      this.eos.forEach((id, i) => {
        if (id < scores.length) scores[id] = eosScores[i]!;
      });
    }
  }

  /**
   * Threads inside a string read plain-text tokens from precomputed tables; the rest of the
   * vocabulary (and every token, for the other threads) is walked byte by byte.
   */
  private allowedTokens(state: RecognizerState): Uint8Array {
    const vocab = this.vocab;
    const allowed = this.allowed.fill(0);
    if (state.length === 0) return allowed;
    const others: Thread[] = [];
    for (const th of state) {
      const run = stringRun(th);
      if (!run) {
        others.push(th);
        continue;
      }
      const ok = vocab.utf8Ok[utf8Class(run.need, run.lo, run.hi)]!;
      const { codePoints } = vocab;
      for (let id = 0; id < ok.length; id++) if (ok[id] && codePoints[id]! <= run.room) allowed[id] = 1;
    }
    if (others.length === state.length) {
      this.walk(state, vocab.order, vocab.lcp, allowed);
    } else {
      this.walk(state, vocab.structural.order, vocab.structural.lcp, allowed);
      if (others.length > 0) this.walk(others, vocab.order, vocab.lcp, allowed);
    }
    return allowed;
  }

  /** Walks sorted tokens, reusing the state of the prefix each shares with the previous one. */
  private walk(state: RecognizerState, order: Int32Array, lcp: Int32Array, allowed: Uint8Array): void {
    const { bytes } = this.vocab;
    const states = this.states;
    states[0] = state;
    let reached = 0;
    for (let k = 0; k < order.length; k++) {
      const shared = lcp[k]!;
      // This token starts with the bytes that killed the previous one.
      if (reached <= shared && reached > 0 && states[reached]!.length === 0) continue;
      const id = order[k]!;
      const b = bytes[id]!;
      let d = shared < reached ? shared : reached;
      let s = states[d]!;
      while (d < b.length) {
        s = this.recognizer.step(s, b[d]!);
        states[++d] = s;
        if (s.length === 0) break;
      }
      reached = d;
      if (s.length > 0) allowed[id] = 1;
    }
  }
}

function isPrefix(prefix: readonly number[], tokens: readonly number[]): boolean {
  for (let i = prefix.length - 1; i >= 0; i--) if (prefix[i] !== tokens[i]) return false;
  return true;
}
