/**
 * One model's running decode batch. Rows join and leave at step boundaries: joiners are prefilled
 * together (left-padded, as generate does) and their cache is merged into the running one; rows
 * that finish or are cancelled are dropped right after the step. The cache has one length for
 * all rows; each row's leading `pad` columns are masked, so its attention mask is `pad` zeros
 * then ones, and its next position is its count of real tokens.
 */
import { checkForwardOutput, type ForwardOutput, type KVCache, type LanguageModel, type TokenChoice } from '../language-model.js';
import { TokenBias } from '../token-bias.js';
import type { Sequence } from './sequence.js';

/** A step's token choices: what the model picks (`choice`), and which rows it picks for. */
interface ChoicePlan {
  choice?: TokenChoice;
  inModel: boolean[];
}

export class ModelBatch {
  /** Submitted, not yet running. */
  readonly queue: Sequence[] = [];
  rows: Sequence[] = [];
  /** Taken from the queue, being prefilled. */
  joining: Sequence[] = [];
  private pads: number[] = [];
  private cache: KVCache | undefined;
  private length = 0;
  private readonly bias: TokenBias;

  constructor(
    readonly name: string,
    readonly lm: LanguageModel,
  ) {
    this.bias = new TokenBias(lm.vocabSize);
  }

  get hasWork(): boolean {
    return this.rows.length > 0 || this.queue.length > 0;
  }

  /** Sequences holding a slot: running or being prefilled. */
  get slots(): number {
    return this.rows.length + this.joining.length;
  }

  /** One step: drop cancelled rows, admit queued ones up to `maxBatch`, then one forward for every running row. */
  async step(maxBatch: number, maxPrefillTokens: number): Promise<void> {
    this.drop((s) => s.cancelRequested, (s) => s.finish('cancelled'));
    // Without concatCaches and trimCache a batch can only start when the previous one is gone.
    const joinable = this.rows.length === 0 || (this.lm.concatCaches !== undefined && this.lm.trimCache !== undefined);
    const free = joinable ? maxBatch - this.rows.length : 0;
    if (free > 0 && this.queue.length > 0) {
      this.joining = this.queue.splice(0, joinCount(this.queue, free, maxPrefillTokens));
      try {
        await this.admit(this.joining);
      } finally {
        this.joining = [];
      }
    }
    if (this.rows.length > 0) await this.decode();
  }

  /** End every running row with `error` (a failed forward leaves the cache unusable). */
  failAll(error: unknown): void {
    for (const s of this.rows) s.fail(error);
    this.rows = [];
    this.pads = [];
    this.cache = undefined;
    this.length = 0;
  }

  private async admit(joiners: Sequence[]): Promise<void> {
    const n = joiners.length;
    const width = Math.max(...joiners.map((s) => s.promptLength));
    const ids = new BigInt64Array(n * width);
    const mask = new BigInt64Array(n * width);
    const positions = new BigInt64Array(n * width).fill(1n);
    joiners.forEach((s, r) => {
      const pad = width - s.promptLength;
      const prompt = s.request.promptIds;
      for (let i = 0; i < prompt.length; i++) {
        ids[r * width + pad + i] = BigInt(prompt[i]!);
        positions[r * width + pad + i] = BigInt(i);
      }
      mask.fill(1n, r * width + pad, (r + 1) * width);
    });
    const plan = this.planChoices(joiners);
    let out;
    try {
      out = await this.lm.forward({ ids, batch: n, attentionMask: mask, positionIds: positions, ...(plan.choice && { choice: plan.choice }) });
    } catch (error) {
      // The running rows' cache is untouched: only the joiners fail.
      for (const s of joiners) s.fail(error);
      return;
    }
    checkForwardOutput(out, { batch: n, choice: plan.choice }, this.lm.vocabSize, `batch engine (${this.name})`);
    const alive: number[] = [];
    joiners.forEach((s, r) => {
      if (s.cancelRequested) s.finish('cancelled');
      else if (!stepRow(s, this.pick(out, plan, r))) alive.push(r);
    });
    if (alive.length === 0) return;
    const cache = alive.length === n ? out.cache : this.lm.selectCache(out.cache, alive);
    const joined = alive.map((r) => joiners[r]!);
    const joinedPads = joined.map((s) => width - s.promptLength);
    if (this.rows.length === 0) {
      this.cache = cache;
      this.length = width;
      this.rows = joined;
      this.pads = joinedPads;
      return;
    }
    const length = Math.max(this.length, width);
    this.cache = this.lm.concatCaches!([this.cache!, cache]);
    this.pads = [...this.pads.map((p) => p + length - this.length), ...joinedPads.map((p) => p + length - width)];
    this.rows = [...this.rows, ...joined];
    this.length = length;
  }

  private async decode(): Promise<void> {
    const n = this.rows.length;
    const total = this.length + 1;
    const ids = new BigInt64Array(n);
    const mask = new BigInt64Array(n * total).fill(1n);
    const positions = new BigInt64Array(n);
    for (let r = 0; r < n; r++) {
      ids[r] = BigInt(this.rows[r]!.lastToken);
      mask.fill(0n, r * total, r * total + this.pads[r]!);
      positions[r] = BigInt(this.length - this.pads[r]!);
    }
    const plan = this.planChoices(this.rows);
    const out = await this.lm.forward({ ids, batch: n, attentionMask: mask, positionIds: positions, cache: this.cache!, ...(plan.choice && { choice: plan.choice }) });
    checkForwardOutput(out, { batch: n, choice: plan.choice }, this.lm.vocabSize, `batch engine (${this.name})`);
    this.cache = out.cache;
    this.length = total;
    const ended = new Set<Sequence>();
    this.rows.forEach((s, r) => {
      if (stepRow(s, this.pick(out, plan, r))) ended.add(s);
    });
    if (ended.size > 0) this.drop((s) => ended.has(s), () => undefined);
  }

  /** Remove the rows `leaves` picks (calling `end` on each), then the columns every remaining row has as padding. */
  private drop(leaves: (s: Sequence) => boolean, end: (s: Sequence) => void): void {
    const keep: number[] = [];
    this.rows.forEach((s, r) => (leaves(s) ? end(s) : keep.push(r)));
    if (keep.length === this.rows.length) return;
    this.rows = keep.map((r) => this.rows[r]!);
    this.pads = keep.map((r) => this.pads[r]!);
    if (keep.length === 0) {
      this.cache = undefined;
      this.length = 0;
      return;
    }
    this.cache = this.lm.selectCache(this.cache!, keep);
    const common = Math.min(...this.pads);
    if (common > 0 && this.lm.trimCache) {
      this.cache = this.lm.trimCache(this.cache, common);
      this.pads = this.pads.map((p) => p - common);
      this.length -= common;
    }
  }

  /** Which rows the model picks for this step: those whose requests allow it, when the model chooses tokens. */
  private planChoices(rows: readonly Sequence[]): ChoicePlan {
    if (!this.lm.choosesTokens) return { inModel: rows.map(() => false) };
    const bias = this.bias.begin(rows.length);
    const sample = { rows: [] as number[], temperatures: [] as number[], uniforms: [] as number[] };
    const inModel = rows.map((s, r) => {
      const how = s.planInModel(this.bias, r);
      if (how?.kind === 'sample') {
        sample.rows.push(r);
        sample.temperatures.push(how.temperature);
        sample.uniforms.push(how.uniform);
      }
      return how !== undefined;
    });
    if (!inModel.includes(true)) return { inModel };
    return { choice: { bias, sample, logits: inModel.includes(false) }, inModel };
  }

  private pick(out: ForwardOutput, plan: ChoicePlan, row: number): { token: number } | { logits: Float32Array } {
    const vocab = this.lm.vocabSize;
    return plan.inModel[row] ? { token: out.tokens![row]! } : { logits: out.logits.subarray(row * vocab, (row + 1) * vocab) };
  }
}

/** How many queued sequences join: FIFO, while the padded prefill (count × longest prompt) stays within budget; at least one. */
function joinCount(queue: readonly Sequence[], free: number, budget: number): number {
  let longest = 0;
  let n = 0;
  while (n < Math.min(free, queue.length)) {
    const width = Math.max(longest, queue[n]!.promptLength);
    if (n > 0 && (n + 1) * width > budget) break;
    longest = width;
    n++;
  }
  return n;
}

/** A row's token choice; a failure (a logits processor throwing) ends only that row. */
function stepRow(s: Sequence, pick: Parameters<Sequence['step']>[0]): boolean {
  try {
    return s.step(pick);
  } catch (error) {
    s.fail(error);
    return true;
  }
}
