/**
 * Assisted (speculative) greedy decoding gives the target's greedy ids token for token: on the
 * gpt2-tiny and llama-tiny fixtures (against plain greedy and transformers' goldens) with drafts of
 * other sizes (the fixture itself: every draft kept; a random 1-layer GPT-2: almost none kept; the
 * other fixture: another architecture), and on table models for EOS, max length, the k schedules,
 * streaming and the refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { scratchSpec } from '../../src/models/registry.js';
import { generate, type GenerateOptions } from '../../src/text/generate.js';
import type { LanguageModel } from '../../src/text/language-model.js';
import { readGolden, type Golden } from '../helpers/causal-lm.js';
import { fixturePath } from '../helpers/fixtures.js';
import { TableLM } from '../helpers/table-lm.js';

/** transformers' greedy ids with repetition_penalty and no_repeat_ngram_size (golden.json). */
interface PenalisedGolden {
  input_ids: number[];
  output_ids: number[];
  repetition_penalty: number;
  no_repeat_ngram_size: number;
}

const GREEDY = { do_sample: false, assistant_confidence_threshold: 0 } as const;

async function randomGpt2(vocabSize: number, seed: number): Promise<CausalLM> {
  const { scratch } = scratchSpec('gpt2');
  const config = scratch.configJson({ layers: 1, heads: 2, embd: 16, blockSize: 128, dropout: 0 }, vocabSize);
  return CausalLM.fromModel(scratch.init(config, new Rng(seed)));
}

for (const name of ['gpt2-tiny', 'llama-tiny'] as const) {
  describe(`assisted greedy decoding on ${name}`, () => {
    let target: CausalLM;
    let random: CausalLM;
    let other: CausalLM;
    let golden: Golden & { greedy_penalised: PenalisedGolden };
    before(async () => {
      golden = (await readGolden(name)).golden as Golden & { greedy_penalised: PenalisedGolden };
      target = await CausalLM.load(fixturePath(name));
      random = await randomGpt2(target.vocabSize, 7);
      other = await CausalLM.load(fixturePath(name === 'gpt2-tiny' ? 'llama-tiny' : 'gpt2-tiny'));
    });
    after(async () => {
      await Promise.all([target.release(), random.release(), other.release()]);
    });

    const cases: [string, () => LanguageModel, GenerateOptions][] = [
      ['itself, k = 5', () => target, { num_assistant_tokens: 5 }],
      ['a random 1-layer, 16-wide GPT-2, k = 3', () => random, { num_assistant_tokens: 3 }],
      ['the other fixture, heuristic k from 2', () => other, { num_assistant_tokens: 2, num_assistant_tokens_schedule: 'heuristic' }],
    ];
    for (const [draftName, draftOf, options] of cases) {
      test(`drafted by ${draftName}: the target's greedy ids, as transformers' goldens`, async () => {
        let drafted = 0;
        let accepted = 0;
        for (const g of golden.greedy) {
          const newTokens = g.output_ids.length - g.input_ids.length;
          const plain = await generate(target, [g.input_ids], { do_sample: false, max_new_tokens: newTokens });
          const out = await generate(target, [g.input_ids], { ...GREEDY, ...options, max_new_tokens: newTokens, assistant_model: draftOf() });
          assert.deepEqual(out.sequences[0], plain.sequences[0]);
          assert.deepEqual(out.sequences[0], g.output_ids);
          drafted += out.assisted!.drafted;
          accepted += out.assisted!.accepted;
          // One target pass per round: fewer passes than tokens whenever drafts are kept.
          assert.ok(out.assisted!.rounds <= newTokens - 1);
        }
        assert.ok(drafted > 0);
        if (draftOf() === target) assert.equal(accepted, drafted);
        if (draftOf() === random) assert.ok(accepted / drafted < 0.2, `a random draft kept ${accepted} of ${drafted}`);
      });
    }

    test('repetition_penalty and no_repeat_ngram_size run on both models: the penalised golden', async () => {
      const g = golden.greedy_penalised;
      const settings = { repetition_penalty: g.repetition_penalty, no_repeat_ngram_size: g.no_repeat_ngram_size, max_new_tokens: g.output_ids.length - g.input_ids.length };
      const out = await generate(target, [g.input_ids], { ...GREEDY, ...settings, assistant_model: random, num_assistant_tokens: 4 });
      assert.deepEqual(out.sequences[0], g.output_ids);
      const self = await generate(target, [g.input_ids], { ...GREEDY, ...settings, assistant_model: target, num_assistant_tokens: 4 });
      assert.deepEqual(self.sequences[0], g.output_ids);
      assert.equal(self.assisted!.accepted, self.assisted!.drafted);
    });

    test('a left-padded prompt with its attention_mask gives the unpadded ids', async () => {
      const g = golden.greedy[0]!;
      const pad = [50256, 50256, 50256];
      const out = await generate(target, [[...pad, ...g.input_ids]], {
        ...GREEDY,
        attention_mask: [[0, 0, 0, ...g.input_ids.map(() => 1)]],
        max_new_tokens: g.output_ids.length - g.input_ids.length,
        assistant_model: other,
        num_assistant_tokens: 3,
      });
      assert.deepEqual(out.newTokens[0], g.output_ids.slice(g.input_ids.length));
    });
  });
}

describe('assisted decoding on table models', () => {
  const target = new TableLM(6, 11);
  const drafts = [new TableLM(6, 11), new TableLM(6, 12), new TableLM(6, 13, { scale: 0.2 })];

  test('greedy ids equal the target greedy ids for every draft, k and schedule', async () => {
    const plain = await generate(target, [[1, 2]], { do_sample: false, max_new_tokens: 40 });
    for (const draft of drafts) {
      for (const k of [1, 2, 5, 20]) {
        for (const schedule of ['constant', 'heuristic'] as const) {
          const out = await generate(target, [[1, 2]], { ...GREEDY, max_new_tokens: 40, assistant_model: draft, num_assistant_tokens: k, num_assistant_tokens_schedule: schedule });
          assert.deepEqual(out.sequences, plain.sequences, `k ${k} ${schedule}`);
          assert.ok(out.assisted!.accepted <= out.assisted!.drafted);
        }
      }
    }
  });

  test('EOS inside a kept run of drafts stops there; max_length is never passed', async () => {
    const plain = await generate(target, [[1]], { do_sample: false, max_new_tokens: 60 });
    const eos = plain.newTokens[0]![7]!;
    const stopAt = plain.newTokens[0]!.indexOf(eos);
    const want = await generate(target, [[1]], { do_sample: false, max_new_tokens: 60, eos_token_id: eos, pad_token_id: 0 });
    assert.equal(want.newTokens[0]!.length, stopAt + 1);
    const out = await generate(target, [[1]], { ...GREEDY, max_new_tokens: 60, eos_token_id: eos, pad_token_id: 0, assistant_model: target, num_assistant_tokens: 20 });
    assert.deepEqual(out.newTokens, want.newTokens);
    for (const n of [1, 2, 3, 9]) {
      const short = await generate(target, [[1]], { ...GREEDY, max_new_tokens: n, assistant_model: target, num_assistant_tokens: 20 });
      assert.deepEqual(short.newTokens[0], plain.newTokens[0]!.slice(0, n));
    }
  });

  test("the draft's context limit shortens rounds instead of overflowing it", async () => {
    const short = new TableLM(6, 11, { maxPositions: 10 });
    const plain = await generate(target, [[1]], { do_sample: false, max_new_tokens: 30 });
    const out = await generate(target, [[1]], { ...GREEDY, max_new_tokens: 30, assistant_model: short, num_assistant_tokens: 4 });
    assert.deepEqual(out.sequences, plain.sequences);
  });

  test('the confidence threshold ends rounds early, with the same ids', async () => {
    const plain = await generate(target, [[1]], { do_sample: false, max_new_tokens: 30 });
    const unsure = drafts[2]!;
    const off = await generate(target, [[1]], { do_sample: false, max_new_tokens: 30, assistant_model: unsure, num_assistant_tokens: 5, assistant_confidence_threshold: 0 });
    const on = await generate(target, [[1]], { do_sample: false, max_new_tokens: 30, assistant_model: unsure, num_assistant_tokens: 5, assistant_confidence_threshold: 0.5 });
    assert.deepEqual(on.sequences, plain.sequences);
    assert.deepEqual(off.sequences, plain.sequences);
    assert.ok(on.assisted!.drafted < off.assisted!.drafted, `${on.assisted!.drafted} drafted with the threshold, ${off.assisted!.drafted} without`);
  });

  test('streamed text is the text of the ids', async () => {
    const tokenizer = { decode: (ids: readonly number[]) => ids.map((i) => String.fromCharCode(97 + i)).join('') };
    let text = '';
    const out = await generate(target, [[1]], { ...GREEDY, max_new_tokens: 25, tokenizer, onText: ({ text: t }) => void (text += t), assistant_model: drafts[1], num_assistant_tokens: 4 });
    assert.equal(text, tokenizer.decode(out.newTokens[0]!));
  });

  test('refusals name what is wrong', async () => {
    const draft = drafts[1]!;
    await assert.rejects(generate(target, [[1]], { assistant_model: draft, num_beams: 2 }), /assistant_model .*not beam search \(num_beams is 2\)/);
    await assert.rejects(generate(target, [[1], [2]], { assistant_model: draft }), /one prompt at a time .* received 2/);
    await assert.rejects(generate(target, [[1]], { assistant_model: new TableLM(7, 1) }), /vocabulary of 7 tokens, the model 6/);
    const noCrop: LanguageModel = { vocabSize: 6, maxPositions: 512, forward: (input) => draft.forward(input), selectCache: (cache) => cache };
    await assert.rejects(generate(target, [[1]], { assistant_model: noCrop }), /assistant_model that can crop its cache/);
    await assert.rejects(generate(target, [[1]], { assistant_model: draft, num_assistant_tokens: 0 }), /num_assistant_tokens must be a positive integer, received 0/);
    await assert.rejects(generate(target, [[1]], { assistant_model: draft, assistant_confidence_threshold: 1 }), /assistant_confidence_threshold must be in \[0, 1\)/);
    await assert.rejects(generate(target, [[1]], { assistant_model: draft, assistantModel: target }), /assistant_model and assistantModel are both given/);
  });
});
