import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { CHAT_MODEL, startServer, type TestServer } from '../helpers.js';

describe('POST /v1/completions with the openai client', () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.close());

  test('text in, text_completion out, with usage; echo prepends the prompt', async () => {
    const r = await client.completions.create({ model: CHAT_MODEL, prompt: 'The quick brown fox', max_tokens: 5, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0]!.finish_reason, 'length');
    const model = server.models[0]!;
    assert.equal(r.usage!.prompt_tokens, model.tokenizer.encode('The quick brown fox').length);
    assert.equal(r.usage!.completion_tokens, 5);
    const echoed = await client.completions.create({ model: CHAT_MODEL, prompt: 'The quick brown fox', max_tokens: 5, temperature: 0, echo: true });
    assert.equal(echoed.choices[0]!.text, `The quick brown fox${r.choices[0]!.text}`);
  });

  test('token-id prompts and lists of prompts: n choices per prompt, indexed prompt·n + i', async () => {
    const model = server.models[0]!;
    const ids = model.tokenizer.encode('Hello there');
    const byText = await client.completions.create({ model: CHAT_MODEL, prompt: 'Hello there', max_tokens: 4, temperature: 0 });
    const byIds = await client.completions.create({ model: CHAT_MODEL, prompt: ids, max_tokens: 4, temperature: 0 });
    assert.equal(byIds.choices[0]!.text, byText.choices[0]!.text);
    const many = await client.completions.create({ model: CHAT_MODEL, prompt: ['Hello there', 'Good night'], n: 2, max_tokens: 4, temperature: 0 });
    assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2, 3]);
    assert.equal(many.choices[0]!.text, byText.choices[0]!.text);
    assert.equal(many.choices[1]!.text, byText.choices[0]!.text);
    assert.notEqual(many.choices[2]!.text, byText.choices[0]!.text);
    assert.equal(many.usage!.prompt_tokens, ids.length + model.tokenizer.encode('Good night').length);
    assert.equal(many.usage!.completion_tokens, 16);
  });

  test('legacy logprobs: tokens, token_logprobs, top_logprobs and text offsets', async () => {
    const r = await client.completions.create({ model: CHAT_MODEL, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, logprobs: 2 });
    const lp = r.choices[0]!.logprobs!;
    assert.equal(lp.tokens!.join(''), r.choices[0]!.text);
    assert.equal(lp.token_logprobs!.length, 5);
    let offset = 0;
    lp.tokens!.forEach((tok, i) => {
      assert.equal(lp.text_offset![i], offset);
      offset += tok.length;
      const top = lp.top_logprobs![i]!;
      assert.equal(Object.keys(top).length, 2);
      assert.ok(Math.abs(Math.max(...Object.values(top)) - lp.token_logprobs![i]!) < 1e-6);
    });
  });

  test('streaming adds up to the same text, ends with [DONE] and usage when asked', async () => {
    const whole = await client.completions.create({ model: CHAT_MODEL, prompt: 'Once upon a time', max_tokens: 12, temperature: 0 });
    const stream = await client.completions.create({ model: CHAT_MODEL, prompt: 'Once upon a time', max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
    }
    assert.equal(text, whole.choices[0]!.text);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, whole.usage);
    const raw = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: CHAT_MODEL, prompt: 'Hi', max_tokens: 2, stream: true }) });
    assert.equal(raw.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const body = await raw.text();
    assert.ok(body.endsWith('data: [DONE]\n\n'), body);
    assert.ok(body.split('\n\n').filter(Boolean).every((event) => event.startsWith('data: ')));
  });
});
