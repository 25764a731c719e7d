/**
 * The bias rows of a TokenChoice ([rows, vocab]), kept in one buffer across steps: each step starts
 * by undoing only the entries the last one set, so a step costs what its processors add, not the
 * vocabulary.
 */
import type { LogitsProcessor } from './logits-processors.js';

export class TokenBias {
  private buffer = new Float32Array(0);
  private readonly touched: number[] = [];

  constructor(readonly vocabSize: number) {}

  /** True when every processor only adds fixed amounts (LogitsProcessor.offsets), so a bias can stand for them. */
  static covers(processors: readonly LogitsProcessor[]): boolean {
    return processors.every((p) => p.offsets !== undefined);
  }

  /** A zero bias for `rows` rows. */
  begin(rows: number): Float32Array {
    for (const at of this.touched) this.buffer[at] = 0;
    this.touched.length = 0;
    if (this.buffer.length < rows * this.vocabSize) this.buffer = new Float32Array(rows * this.vocabSize);
    return this.buffer.subarray(0, rows * this.vocabSize);
  }

  /** Adds `amount` to `token` in `row` (ids past the vocabulary are ignored, as the processors ignore them). */
  add(row: number, token: number, amount: number): void {
    if (token >= this.vocabSize) return;
    const at = row * this.vocabSize + token;
    this.buffer[at]! += amount;
    this.touched.push(at);
  }

  /** Adds what `processors` (all with `offsets`) would add to `row` after `tokens`. */
  addProcessors(row: number, processors: readonly LogitsProcessor[], tokens: readonly number[]): void {
    for (const processor of processors) for (const [token, amount] of processor.offsets!(tokens)) this.add(row, token, amount);
  }
}
