import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, stream, type StreamChunk } from '../../src/text/generate.js';
import type { ForwardInput, ForwardOutput, KVCache, LanguageModel } from '../../src/text/language-model.js';

interface FakeRow {
  tokens: number[];
  mask: number[];
}

interface FakeCache extends KVCache {
  rows: FakeRow[];
}

/** Next-token logits as a function of the real (unmasked) tokens so far. */
type NextLogits = (history: readonly number[]) => ArrayLike<number>;

/**
 * A deterministic LanguageModel: logits depend only on the unpadded history, and every call is
 * checked for the mask/position layout transformers uses (positions count real tokens; padding gets 1).
 */
class FakeLM implements LanguageModel {
  readonly calls: ForwardInput[] = [];

  constructor(
    readonly vocabSize: number,
    readonly maxPositions: number,
    private readonly next: NextLogits,
  ) {}

  async forward(input: ForwardInput): Promise<ForwardOutput> {
    this.calls.push(input);
    const { batch } = input;
    const prev = input.cache as FakeCache | undefined;
    const steps = input.ids.length / batch;
    const past = prev?.length ?? 0;
    const total = past + steps;
    assert.equal(input.attentionMask.length, batch * total, 'attention mask covers cache + new steps');
    assert.equal(input.positionIds.length, batch * steps);
    const rows = prev ? prev.rows.map((r) => ({ tokens: [...r.tokens], mask: [...r.mask] })) : Array.from({ length: batch }, () => ({ tokens: [], mask: [] }));
    assert.equal(rows.length, batch, 'cache rows match the batch');
    const logits = new Float32Array(batch * this.vocabSize);
    rows.forEach((row, r) => {
      for (let t = 0; t < past; t++) assert.equal(Number(input.attentionMask[r * total + t]), row.mask[t], 'mask of cached positions unchanged');
      for (let s = 0; s < steps; s++) {
        const real = Number(input.attentionMask[r * total + past + s]);
        const expectedPosition = real ? row.mask.filter((m) => m === 1).length : 1;
        assert.equal(Number(input.positionIds[r * steps + s]), expectedPosition, `row ${r} position`);
        row.tokens.push(Number(input.ids[r * steps + s]));
        row.mask.push(real);
      }
      logits.set(Array.from(this.next(row.tokens.filter((_, i) => row.mask[i] === 1))), r * this.vocabSize);
    });
    const cache: FakeCache = { length: total, batch, rows };
    return { logits, cache };
  }

  selectCache(cache: KVCache, rows: readonly number[]): KVCache {
    const c = cache as FakeCache;
    const picked: FakeCache = { length: c.length, batch: rows.length, rows: rows.map((i) => c.rows[i]!) };
    return picked;
  }
}

/** Logits peaked at one token (the gap makes argmax unambiguous). */
function peaked(vocab: number, target: number): Float32Array {
  return Float32Array.from({ length: vocab }, (_, v) => -Math.abs(v - target));
}

function logProbs(probs: readonly number[]): Float32Array {
  return Float32Array.from(probs, (p) => (p > 0 ? Math.log(p) : -30));
}

// "logits as a fixed function of the last token and position"
const V = 16;
const chainTarget = (last: number, length: number): number => (3 * last + length) % V;
const chainModel = (maxPositions = 64): FakeLM => new FakeLM(V, maxPositions, (h) => peaked(V, chainTarget(h[h.length - 1]!, h.length)));

/** The greedy continuation of the chain model, computed straight from its definition. */
function chain(prompt: number[], count: number, eos?: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  while (out.length < count) {
    const next = chainTarget(seq[seq.length - 1]!, seq.length);
    seq.push(next);
    out.push(next);
    if (next === eos) break;
  }
  return out;
}

describe('greedy', () => {
  test('follows the argmax chain for max_new_tokens', async () => {
    const out = await generate(chainModel(), [[1, 2]], { max_new_tokens: 6 });
    assert.deepEqual(out.newTokens, [[8, 11, 5, 4, 2, 13]]);
    assert.deepEqual(out.newTokens[0], chain([1, 2], 6));
    assert.deepEqual(out.sequences, [[1, 2, 8, 11, 5, 4, 2, 13]]);
  });

  test('stops at EOS (which is kept) and max_length counts the prompt', async () => {
    const eos = await generate(chainModel(), [[1, 2]], { maxNewTokens: 6, eosTokenId: 5 });
    assert.deepEqual(eos.newTokens, [[8, 11, 5]]);
    const byLength = await generate(chainModel(), [[1, 2]], { max_length: 5 });
    assert.deepEqual(byLength.newTokens, [[8, 11, 5]]);
  });

  test('left-pads a batch: each row matches its own run, finished rows are filled with pad', async () => {
    const model = chainModel();
    const out = await generate(model, [[1, 2], [7]], { max_new_tokens: 6, eos_token_id: [5, 12], pad_token_id: 0 });
    assert.deepEqual(out.newTokens, [chain([1, 2], 6, 5), chain([7], 6, 5)]);
    assert.deepEqual(out.sequences[0], [1, 2, 8, 11, 5, 0, 0, 0]);
    assert.deepEqual(out.sequences[1], [0, 7, ...chain([7], 6, 5)]);
    assert.equal(out.promptLength, 2);
    // prefill saw the padded row with mask [0, 1] and positions [1, 0]
    assert.deepEqual([...model.calls[0]!.attentionMask].map(Number), [1, 1, 0, 1]);
    assert.deepEqual([...model.calls[0]!.positionIds].map(Number), [0, 1, 1, 0]);
    assert.deepEqual([...model.calls[1]!.positionIds].map(Number), [2, 1]);
  });

  test('accepts pre-padded prompts with an attention_mask (transformers batch layout)', async () => {
    const out = await generate(chainModel(), [[9, 9, 1, 2], [3, 4, 5, 6]], {
      attention_mask: [
        [0, 0, 1, 1],
        [1, 1, 1, 1],
      ],
      max_new_tokens: 4,
    });
    assert.deepEqual(out.newTokens, [chain([1, 2], 4), chain([3, 4, 5, 6], 4)]);
    assert.deepEqual(out.sequences[0]!.slice(0, 4), [9, 9, 1, 2]);
  });

  test('without length options generates 20 tokens, clamped to the context length', async () => {
    assert.equal((await generate(chainModel(), [[1]])).newTokens[0]!.length, 20);
    assert.equal((await generate(chainModel(10), [[1, 2]])).newTokens[0]!.length, 8);
  });

  test('generation_config supplies defaults that options override', async () => {
    const defaults = { eos_token_id: 5, max_new_tokens: 2 };
    assert.deepEqual((await generate(chainModel(), [[1, 2]], { generation_config: defaults })).newTokens, [[8, 11]]);
    assert.deepEqual((await generate(chainModel(), [[1, 2]], { generation_config: defaults, max_new_tokens: 6 })).newTokens, [[8, 11, 5]]);
  });

  test('repetition penalty and no-repeat n-grams (hand-computed)', async () => {
    const model = new FakeLM(4, 64, () => Float32Array.from([0, 3, 2, 1]));
    const ngram = await generate(model, [[0]], { max_new_tokens: 7, no_repeat_ngram_size: 2 });
    assert.deepEqual(ngram.newTokens, [[1, 1, 2, 1, 3, 1, 0]]);
    const penalty = await generate(model, [[0]], { max_new_tokens: 5, repetition_penalty: 2 });
    assert.deepEqual(penalty.newTokens, [[1, 2, 1, 1, 1]]);
    const both = await generate(model, [[0]], { max_new_tokens: 7, repetition_penalty: 2, no_repeat_ngram_size: 2 });
    assert.deepEqual(both.newTokens, [[1, 2, 1, 1, 3, 1, 0]]);
  });

  test('min_new_tokens holds EOS back', async () => {
    const model = new FakeLM(4, 64, () => Float32Array.from([5, 1, 0, 0]));
    assert.deepEqual((await generate(model, [[2]], { eos_token_id: 0, max_new_tokens: 8 })).newTokens, [[0]]);
    assert.deepEqual((await generate(model, [[2]], { eos_token_id: 0, max_new_tokens: 8, min_new_tokens: 3 })).newTokens, [[1, 1, 1, 0]]);
  });
});

describe('errors', () => {
  test('requests beyond the context length name both numbers', async () => {
    await assert.rejects(generate(chainModel(10), [[1, 2]], { max_new_tokens: 9 }), /prompt \(2 tokens\) \+ max_new_tokens \(9\) = 11 exceeds the model's context length of 10/);
    await assert.rejects(generate(chainModel(10), [[1, 2]], { max_length: 11 }), /max_length 11 exceeds the model's context length of 10/);
    await assert.rejects(generate(chainModel(4), [[1, 2, 3, 4]]), /the prompt has 4 tokens but the model's context length is 4/);
  });

  test('bad options and prompts', async () => {
    await assert.rejects(generate(chainModel(), [[1, 99]]), /prompt 0, position 1: token id 99 is outside the model's vocabulary \(size 16\)/);
    await assert.rejects(generate(chainModel(), [[]]), /prompt 0 is empty/);
    await assert.rejects(generate(chainModel(), [[1]], { top_p: 1.5 }), /top_p must be a number in \[0, 1\], received 1.5/);
    await assert.rejects(generate(chainModel(), [[1]], { do_sample: true, temperature: 0 }), /temperature must be positive when sampling, received 0/);
    await assert.rejects(generate(chainModel(), [[1]], { max_new_tokens: 3, maxNewTokens: 4 }), /maxNewTokens \(4\) and max_new_tokens \(3\) disagree/);
    await assert.rejects(generate(chainModel(), [[1]], { stop_strings: 'x' }), /stop_strings need the tokenizer/);
  });
});

describe('sampling', () => {
  const PROBS = [0.5, 0.3, 0.15, 0.05];
  const model = new FakeLM(4, 1000, () => logProbs(PROBS));
  const sample = async (opts: object): Promise<number[]> => (await generate(model, [[0]], { do_sample: true, max_new_tokens: 200, ...opts })).newTokens[0]!;

  test('is reproducible per seed and differs across seeds', async () => {
    assert.deepEqual(await sample({ seed: 7 }), await sample({ seed: 7 }));
    assert.notDeepEqual(await sample({ seed: 7 }), await sample({ seed: 8 }));
  });

  test('draws every token with roughly its probability', async () => {
    const tokens = await sample({ seed: 1 });
    assert.deepEqual(new Set(tokens), new Set([0, 1, 2, 3]));
    const share0 = tokens.filter((t) => t === 0).length / tokens.length;
    assert.ok(Math.abs(share0 - 0.5) < 0.1, `token 0 share ${share0}`);
  });

  test('top_p restricts the support to the nucleus', async () => {
    // ascending mass .05, .20 <= 0.3 are dropped: only tokens 0 and 1 remain, renormalised to .625/.375
    const tokens = await sample({ seed: 3, top_p: 0.7 });
    assert.deepEqual(new Set(tokens), new Set([0, 1]));
    const share0 = tokens.filter((t) => t === 0).length / tokens.length;
    assert.ok(Math.abs(share0 - 0.625) < 0.1, `token 0 share ${share0}`);
  });

  test('top_k 1 and min_p 1 reduce sampling to greedy', async () => {
    assert.deepEqual(new Set(await sample({ seed: 4, top_k: 1 })), new Set([0]));
    assert.deepEqual(new Set(await sample({ seed: 4, min_p: 1 })), new Set([0]));
  });
});

describe('beam search', () => {
  // tokens: 1=A 2=B 3=C; next-token probabilities by generated prefix. A (.5) beats B (.4) first,
  // but B is followed by A (.9) and B A by C (.95); prefixes not listed are uniform.
  const EPS = 1e-6;
  const TABLE: Record<string, number[]> = {
    '': [EPS, 0.5, 0.4, 0.1],
    '1': [EPS, 0.3, 0.3, 0.4],
    '2': [EPS, 0.9, 0.05, 0.05],
    '2,1': [EPS, 0.025, 0.025, 0.95],
    '1,3': [EPS, 0.4, 0.3, 0.3],
  };
  const probsAfter = (generated: readonly number[]): number[] => TABLE[generated.join(',')] ?? [EPS, 1 / 3, 1 / 3, 1 / 3];
  // the prompt is the first token 0 of the history
  const model = (): FakeLM => new FakeLM(4, 64, (h) => logProbs(probsAfter(h.slice(h.indexOf(0) + 1))));

  /** Exhaustive search over every continuation of `length` tokens. */
  function bestContinuation(length: number): number[] {
    let best: number[] = [];
    let bestP = -1;
    const visit = (prefix: number[], p: number): void => {
      if (prefix.length === length) {
        if (p > bestP) [best, bestP] = [prefix, p];
        return;
      }
      probsAfter(prefix).forEach((q, token) => visit([...prefix, token], p * q));
    };
    visit([], 1);
    return best;
  }

  test('finds a better sequence than greedy', async () => {
    const greedy = await generate(model(), [[0]], { max_new_tokens: 3 });
    const beams = await generate(model(), [[0]], { max_new_tokens: 3, num_beams: 2 });
    assert.deepEqual(greedy.newTokens, [[1, 3, 1]]);
    assert.deepEqual(beams.newTokens, [bestContinuation(3)]);
    assert.deepEqual(beams.newTokens, [[2, 1, 3]]);
  });

  test('batches of differently padded prompts match single runs', async () => {
    const single = await generate(model(), [[0]], { max_new_tokens: 3, num_beams: 3 });
    const batch = await generate(model(), [[3, 3, 0], [0]], { max_new_tokens: 3, num_beams: 3 });
    assert.deepEqual(single.newTokens, [[2, 1, 3]]);
    assert.deepEqual(batch.newTokens[1], single.newTokens[0]);
    assert.equal(batch.sequences[1]!.length, 6);
  });
});

/** Byte-level fake tokenizer: ids 0-255 are bytes, 256 is a special EOS. */
const EOS = 256;
const byteTokenizer = {
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const bytes = ids.filter((id) => id < 256);
    const special = opts.skipSpecialTokens ? '' : '<eos>';
    return new TextDecoder().decode(Uint8Array.from(bytes)) + (ids.includes(EOS) ? special : '');
  },
};

/** A model that spells `text` as UTF-8 bytes after the prompt, then EOS. */
function spellingModel(text: string, promptLength: number): FakeLM {
  const bytes = [...new TextEncoder().encode(text), EOS];
  return new FakeLM(257, 512, (h) => peaked(257, bytes[h.length - promptLength] ?? EOS));
}

describe('streaming', () => {
  const TEXT = 'héllo 😀!';
  const prompt = [...new TextEncoder().encode('Hi')];

  test('yields only complete characters, emoji split over four tokens included', async () => {
    const chunks: string[] = [];
    const gen = stream(spellingModel(TEXT, prompt.length), byteTokenizer, [prompt], { eos_token_id: EOS, max_new_tokens: 50 });
    for await (const chunk of gen) chunks.push(chunk.text);
    assert.deepEqual(chunks, ['h', 'é', 'l', 'l', 'o', ' ', '😀', '!']);
  });

  test('the callback sees the same text, and batched rows are told apart', async () => {
    const seen: StreamChunk[] = [];
    const out = await generate(spellingModel(TEXT, prompt.length), [prompt, prompt], {
      eos_token_id: EOS,
      max_new_tokens: 50,
      tokenizer: byteTokenizer,
      onText: (chunk) => void seen.push(chunk),
    });
    for (const row of [0, 1]) {
      assert.equal(seen.filter((c) => c.row === row).map((c) => c.text).join(''), TEXT);
    }
    assert.equal(byteTokenizer.decode(out.newTokens[0]!, { skipSpecialTokens: true }), TEXT);
  });

  test('a character cut off by max_new_tokens is flushed as U+FFFD at the end', async () => {
    const chunks: string[] = [];
    for await (const c of stream(spellingModel('a😀', prompt.length), byteTokenizer, [prompt], { max_new_tokens: 3 })) chunks.push(c.text);
    assert.deepEqual(chunks, ['a', '\uFFFD']);
  });

  test('leaving the loop early stops generation', async () => {
    const model = spellingModel('x'.repeat(200), prompt.length);
    for await (const chunk of stream(model, byteTokenizer, [prompt], { max_new_tokens: 200 })) {
      assert.equal(chunk.text, 'x');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(model.calls.length < 20, `model called ${model.calls.length} times`);
  });

  test('the generator returns the full output', async () => {
    const gen = stream(spellingModel('ok', prompt.length), byteTokenizer, [prompt], { eos_token_id: EOS });
    let result = await gen.next();
    while (!result.done) result = await gen.next();
    assert.deepEqual(result.value.newTokens, [[111, 107, EOS]]);
  });
});

describe('stop strings', () => {
  const words = ['<eos>', 'a', ' ', 'st', 'op', 'opx', 'b'];
  const tokenizer = { decode: (ids: readonly number[]) => ids.map((i) => words[i]).join('') };
  const scripted = (script: number[]): FakeLM => new FakeLM(words.length, 64, (h) => peaked(words.length, script[h.length - 1] ?? 6));

  test('stop when the text ends with a stop string spread over tokens', async () => {
    const out = await generate(scripted([1, 2, 3, 4, 1, 1]), [[1]], { stop_strings: ['stop'], tokenizer, max_new_tokens: 10 });
    assert.deepEqual(out.newTokens, [[1, 2, 3, 4]]);
  });

  test('the last token may run past the end of the stop string', async () => {
    const out = await generate(scripted([1, 3, 5, 1, 1]), [[1]], { stopStrings: 'stop', tokenizer, max_new_tokens: 10 });
    assert.deepEqual(out.newTokens, [[1, 3, 5]]);
  });

  test('no stop without a match', async () => {
    const out = await generate(scripted([1, 3, 1, 4, 1]), [[1]], { stop_strings: ['stop'], tokenizer, max_new_tokens: 4 });
    assert.deepEqual(out.newTokens, [[1, 3, 1, 4]]);
  });
});
