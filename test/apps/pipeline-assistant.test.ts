/**
 * pipeline('text-generation', model, { assistant_model }): every call decodes with the draft
 * (gpt2-tiny drafted by llama-tiny, same tokenizer) and gives the model's own greedy text; a
 * call's assistant_model overrides the pipeline's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipeline } from '../../src/apps/pipeline.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { fixturePath } from '../helpers/fixtures.js';

const MODEL = fixturePath('gpt2-tiny');
const golden = JSON.parse(readFileSync(join(MODEL, 'golden.json'), 'utf8')) as { prompts: string[]; greedy: { text: string }[] };

test("assistant_model on the pipeline: the model's greedy text, from a path or a loaded model", async () => {
  const generator = await pipeline('text-generation', MODEL, { assistant_model: fixturePath('llama-tiny') });
  const self = await CausalLM.load(MODEL);
  try {
    for (const [i, prompt] of golden.prompts.entries()) {
      const [out] = await generator(prompt, { max_new_tokens: 24, do_sample: false, num_assistant_tokens: 3, return_full_text: false });
      assert.equal(out!.generated_text, golden.greedy[i]!.text);
    }
    const [again] = await generator(golden.prompts[0]!, { max_new_tokens: 24, do_sample: false, assistant_model: self, return_full_text: false });
    assert.equal(again!.generated_text, golden.greedy[0]!.text);
  } finally {
    await generator.dispose();
    await self.release();
  }
});
