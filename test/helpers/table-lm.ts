/**
 * A LanguageModel whose next-token logits are a fixed table of (previous token, position parity):
 * tiny, exact, and fast, so tests can enumerate its distribution. It checks that callers feed
 * consistent caches, masks and positions, and it implements cropCache.
 */
import { Rng } from '../../src/core/rng.js';
import type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from '../../src/text/language-model.js';

class TableCache implements KVCache {
  readonly batch = 1;
  constructor(
    readonly tokens: readonly number[],
    readonly positions: readonly number[],
  ) {}
  get length(): number {
    return this.tokens.length;
  }
}

export class TableLM implements LanguageModel {
  readonly maxPositions: number;
  /** table[prev][parity] = logits of the next token. */
  readonly table: Float32Array[][];
  calls = 0;

  constructor(
    readonly vocabSize: number,
    seed: number,
    opts: { scale?: number; maxPositions?: number } = {},
  ) {
    const rng = new Rng(seed);
    const scale = opts.scale ?? 1.5;
    this.maxPositions = opts.maxPositions ?? 512;
    this.table = Array.from({ length: vocabSize }, () => [0, 1].map(() => Float32Array.from({ length: vocabSize }, () => scale * rng.normal())));
  }

  /** Logits after `token` at `position`. */
  logitsAfter(token: number, position: number): Float32Array {
    return this.table[token]![position % 2]!;
  }

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    this.calls++;
    if (input.batch !== 1) throw new Error('TableLM: batch 1 only');
    const past = input.cache === undefined ? new TableCache([], []) : (input.cache as TableCache);
    const ids = Array.from(input.ids, Number);
    const positions = Array.from(input.positionIds, Number);
    if (input.attentionMask.length !== past.length + ids.length) throw new Error(`TableLM: mask of ${input.attentionMask.length} for ${past.length} + ${ids.length} positions`);
    const expected = past.positions.length === 0 ? 0 : past.positions.at(-1)! + 1;
    if (positions[0] !== expected) throw new Error(`TableLM: position ${positions[0]} follows a cache ending at ${expected - 1}`);
    const rows = ids.map((t, i) => this.logitsAfter(t, positions[i]!));
    const chosen = input.allLogits ? rows : [rows.at(-1)!];
    const logits = new Float32Array(chosen.length * this.vocabSize);
    chosen.forEach((r, i) => logits.set(r, i * this.vocabSize));
    return { logits, cache: new TableCache([...past.tokens, ...ids], [...past.positions, ...positions]) };
  }

  selectCache(cache: KVCache): KVCache {
    return cache;
  }

  cropCache(cache: KVCache, length: number): KVCache {
    const c = cache as TableCache;
    if (length > c.length) throw new Error(`TableLM: crop to ${length} of ${c.length}`);
    return new TableCache(c.tokens.slice(0, length), c.positions.slice(0, length));
  }
}
