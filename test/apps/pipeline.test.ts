import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline, type PipelineProgressInfo, type TextGenerationPipeline } from '../../src/apps/pipeline.js';
import type { ChatMessage } from '../../src/text/chat-template.js';
import { loadHfCheckpoint } from '../../src/io/hf-checkpoint.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { mergeAndUnload } from '../../src/models/lora/merge.js';
import { loadLoraAdapter } from '../../src/models/lora/peft-io.js';
import { loadCausalLmModel } from '../../src/models/registry.js';
import { generate } from '../../src/text/generate.js';
import { fixturePath } from '../helpers/fixtures.js';

interface CausalLmGolden {
  prompts: string[];
  greedy: { input_ids: number[]; output_ids: number[]; text: string }[];
  batch: { input_ids: number[][]; attention_mask: number[][]; output_ids: number[][] };
  beam3: { input_ids: number[]; output_ids: number[] };
  greedy_penalised: { input_ids: number[]; output_ids: number[]; repetition_penalty: number; no_repeat_ngram_size: number };
}

const readGolden = (name: string): CausalLmGolden => JSON.parse(readFileSync(fixturePath(name, 'golden.json'), 'utf8')) as CausalLmGolden;

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  describe(`${name}: token ids identical to transformers`, () => {
    const golden = readGolden(name);
    let gen: TextGenerationPipeline;
    before(async () => {
      gen = await pipeline('text-generation', fixturePath(name));
    });
    after(() => gen.dispose());
    const run = (ids: number[][], options: object) => generate(gen.model, ids, { generation_config: gen.generationConfig, ...options });

    test('greedy, each prompt', async () => {
      for (const g of golden.greedy) {
        const out = await run([g.input_ids], { max_new_tokens: g.output_ids.length - g.input_ids.length });
        assert.deepEqual(out.sequences[0], g.output_ids);
      }
    });

    test('left-padded batch, from the padded ids + attention_mask and from unpadded prompts', async () => {
      const b = golden.batch;
      const max_new_tokens = b.output_ids[0]!.length - b.input_ids[0]!.length;
      assert.deepEqual((await run(b.input_ids, { attention_mask: b.attention_mask, max_new_tokens })).sequences, b.output_ids);
      const unpadded = b.input_ids.map((row, r) => row.filter((_, i) => b.attention_mask[r]![i] === 1));
      assert.deepEqual((await run(unpadded, { max_new_tokens })).sequences, b.output_ids);
    });

    test('beam search, 3 beams, early_stopping', async () => {
      const g = golden.beam3;
      const out = await run([g.input_ids], { num_beams: 3, early_stopping: true, max_new_tokens: g.output_ids.length - g.input_ids.length });
      assert.deepEqual(out.sequences[0], g.output_ids);
    });

    test('repetition_penalty + no_repeat_ngram_size', async () => {
      const g = golden.greedy_penalised;
      const out = await run([g.input_ids], {
        repetition_penalty: g.repetition_penalty,
        no_repeat_ngram_size: g.no_repeat_ngram_size,
        max_new_tokens: g.output_ids.length - g.input_ids.length,
      });
      assert.deepEqual(out.sequences[0], g.output_ids);
    });
  });
}

describe('text-generation pipeline (gpt2-tiny)', () => {
  const golden = readGolden('gpt2-tiny');
  let gen: TextGenerationPipeline;
  before(async () => {
    gen = await pipeline('text-generation', fixturePath('gpt2-tiny'));
  });
  after(() => gen.dispose());
  const N = 24; // the goldens' new tokens

  test('generated_text is the prompt followed by the reply, as transformers returns it', async () => {
    for (const [i, prompt] of golden.prompts.entries()) {
      assert.deepEqual(await gen(prompt, { max_new_tokens: N }), [{ generated_text: prompt + golden.greedy[i]!.text }]);
    }
  });

  test('return_full_text: false keeps only the reply; a list of prompts gives a list of results', async () => {
    const out = await gen(golden.prompts, { max_new_tokens: N, return_full_text: false });
    assert.deepEqual(
      out,
      golden.greedy.map((g) => [{ generated_text: g.text }]),
    );
  });

  test('max_length counts the prompt tokens', async () => {
    const [result] = await gen(golden.prompts[0]!, { max_length: 12, returnFullText: false });
    const ids = gen.tokenizer.encode(result!.generated_text as string);
    assert.deepEqual(ids, golden.greedy[0]!.output_ids.slice(10, 12));
  });

  test('without length options it generates up to 256 tokens, capped by the 128-position context', () => {
    assert.equal(gen.generationConfig.max_new_tokens, 256);
    assert.equal(gen.generationConfig.eos_token_id, 50256);
  });

  test('chat messages go through the chat template and get the reply appended', async () => {
    const chat_template = '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}';
    const messages: ChatMessage[] = [{ role: 'user', content: 'Hola, ¿qué tal?' }];
    const ids = gen.encode(messages, { chat_template });
    assert.deepEqual(ids, gen.tokenizer.encode('<user>Hola, ¿qué tal?\n<assistant>', { addSpecialTokens: false }));
    const expected = await generate(gen.model, [ids], { max_new_tokens: 6 });
    const reply = gen.tokenizer.decode([...ids, ...expected.newTokens[0]!]).slice('<user>Hola, ¿qué tal?\n<assistant>'.length);
    const out = await gen(messages, { chat_template, max_new_tokens: 6 });
    assert.deepEqual(out, [{ generated_text: [...messages, { role: 'assistant', content: reply }] }]);
  });

  test('a final assistant message is continued, not answered', async () => {
    const chat_template = '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}';
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Well' },
    ];
    assert.deepEqual(gen.encode(messages, { chat_template }), gen.tokenizer.encode('<user>Hi\n<assistant>Well', { addSpecialTokens: false }));
    const [result] = await gen(messages, { chat_template, max_new_tokens: 3 });
    const turns = result!.generated_text as ChatMessage[];
    assert.equal(turns.length, 2);
    assert.ok((turns[1]!.content as string).startsWith('Well'));
  });

  test('a tokenizer without a chat template is a clear error', async () => {
    await assert.rejects(gen([{ role: 'user', content: 'hi' }]), /has no chat template/);
  });

  test('stream yields the reply in pieces and returns the call result', async () => {
    const pieces: string[] = [];
    const it = gen.stream(golden.prompts[2]!, { max_new_tokens: N });
    let step = await it.next();
    for (; !step.done; step = await it.next()) pieces.push(step.value);
    assert.ok(pieces.length > 1);
    assert.equal(pieces.join(''), golden.greedy[2]!.text);
    assert.deepEqual(step.value, [{ generated_text: golden.prompts[2]! + golden.greedy[2]!.text }]);
  });

  test('bad task and bad input', async () => {
    await assert.rejects(pipeline('fill-mask' as 'text-generation', fixturePath('gpt2-tiny')), /task 'fill-mask' is not supported/);
    await assert.rejects(gen(42 as unknown as string), /input must be a string, a list of strings, chat messages/);
  });
});

test('progress_callback gets transformers.js-style progress, done and ready events for a hub download', async () => {
  // A static server with the hub's /{id}/resolve/{revision}/{file} layout, serving gpt2-tiny.
  const server = http.createServer((req, res) => {
    const file = /^\/forja-test\/gpt2-tiny\/resolve\/main\/([\w.]+)$/.exec(req.url ?? '')?.[1];
    const path = file && fixturePath('gpt2-tiny', file);
    if (!path || !existsSync(path)) return void res.writeHead(404).end();
    const body = readFileSync(path);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cacheDir = mkdtempSync(join(tmpdir(), 'forja-pipeline-hub-'));
  const events: PipelineProgressInfo[] = [];
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gen = await pipeline('text-generation', 'forja-test/gpt2-tiny', { endpoint, cacheDir, offline: false, progress_callback: (e) => events.push(e) });
    await gen.dispose();
    assert.deepEqual(events.at(-1), { status: 'ready', task: 'text-generation', model: 'forja-test/gpt2-tiny' });
    const size = statSync(fixturePath('gpt2-tiny', 'model.safetensors')).size;
    const weights = events.filter((e) => 'file' in e && e.file === 'model.safetensors');
    assert.deepEqual(weights.at(-1), { status: 'done', name: 'forja-test/gpt2-tiny', file: 'model.safetensors' });
    const last = weights.at(-2)!;
    assert.deepEqual(last, { status: 'progress', name: 'forja-test/gpt2-tiny', file: 'model.safetensors', progress: 100, loaded: size, total: size });
    const done = events.filter((e) => e.status === 'done').map((e) => (e as { file: string }).file);
    assert.ok(done.includes('config.json') && done.includes('tokenizer.json'), done.join(', '));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("{ adapter }: a PEFT adapter unmerged over the base: golden logits, and the merged model's greedy ids", async () => {
  const adapterDir = fixturePath('gpt2-tiny-lora');
  const { input_ids: ids } = JSON.parse(readFileSync(join(adapterDir, 'golden.json'), 'utf8')) as { input_ids: number[] };
  const expected = (await readSafetensors(join(adapterDir, 'golden.safetensors'))).get('logits_with_adapter')!.data as Float32Array;
  const adapted = await pipeline('text-generation', fixturePath('gpt2-tiny'), { adapter: adapterDir });
  const base = await pipeline('text-generation', fixturePath('gpt2-tiny'));
  const ckpt = await loadHfCheckpoint(fixturePath('gpt2-tiny'));
  const merged = mergeAndUnload(await loadLoraAdapter(adapterDir, loadCausalLmModel(ckpt.config, ckpt.weights)));
  const mergedGen = await pipeline('text-generation', { model: await CausalLM.fromModel(merged), tokenizer: base.tokenizer });
  try {
    const n = ids.length;
    const { logits } = await adapted.model.forward({
      ids: BigInt64Array.from(ids, BigInt),
      batch: 1,
      attentionMask: new BigInt64Array(n).fill(1n),
      positionIds: BigInt64Array.from(ids, (_, i) => BigInt(i)),
      allLogits: true,
    });
    assert.equal(logits.length, expected.length);
    let worst = 0;
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i]! - expected[i]!));
    assert.ok(worst < 1e-3, `max |Δ| ${worst}`);
    const options = { max_new_tokens: 8, do_sample: false, return_full_text: false };
    const [a] = await adapted('Once upon a time', options);
    const [m] = await mergedGen('Once upon a time', options);
    const [b] = await base('Once upon a time', options);
    assert.equal(a!.generated_text, m!.generated_text);
    assert.notEqual(a!.generated_text, b!.generated_text, 'the adapter changes the output');
  } finally {
    await Promise.all([adapted.dispose(), base.dispose(), mergedGen.dispose()]);
  }
});

test('text-generation pipeline: loadIn quantizes a float checkpoint (the same model as quantizeModel gives); with an adapter it is refused', async () => {
  const { QuantizedModel, quantizeModel } = await import('../../src/models/quantize/index.js');
  const gen = await pipeline('text-generation', fixturePath('llama-tiny'), { loadIn: '8bit' });
  try {
    assert.ok(gen.model instanceof CausalLM && gen.model.model instanceof QuantizedModel);
    const ckpt = await loadHfCheckpoint(fixturePath('llama-tiny'));
    const direct = await CausalLM.fromModel(quantizeModel(loadCausalLmModel(ckpt.config, ckpt.weights), { bits: 8, group_size: 16 }));
    const viaDirect = await pipeline('text-generation', { model: direct, tokenizer: gen.tokenizer });
    const options = { max_new_tokens: 8, do_sample: false };
    assert.deepEqual(await gen('Once upon a time', options), await viaDirect('Once upon a time', options));
    await viaDirect.dispose();
  } finally {
    await gen.dispose();
  }
  await assert.rejects(pipeline('text-generation', fixturePath('gpt2-tiny'), { loadIn: '4bit', adapter: fixturePath('gpt2-tiny-lora') }), /loadIn cannot be combined with adapter/);
});
