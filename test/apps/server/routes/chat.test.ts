import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ChatOpenAI } from '@langchain/openai';
import OpenAI from 'openai';
import { ADAPTER_MODEL, CHAT_MODEL, startServer, type TestServer } from '../helpers.js';

const messages = [{ role: 'user' as const, content: 'Say hello' }];

describe('POST /v1/chat/completions with the openai client', () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer({ adapter: true });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.close());

  test('a completion has the reply, finish_reason and usage; greedy is deterministic', async () => {
    const a = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 6, temperature: 0 });
    const b = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 6, temperature: 0 });
    assert.equal(a.object, 'chat.completion');
    assert.equal(a.model, CHAT_MODEL);
    assert.equal(a.choices.length, 1);
    assert.equal(a.choices[0]!.message.role, 'assistant');
    assert.equal(a.choices[0]!.finish_reason, 'length');
    assert.equal(a.usage!.completion_tokens, 6);
    // The prompt is the chat template's rendering, encoded with GPT-2's tokenizer.
    const model = server.models.find((m) => m.id === CHAT_MODEL)!;
    const prompt = model.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    assert.match(prompt, /^<\|im_start\|>user\nSay hello<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    assert.equal(a.usage!.prompt_tokens, model.tokenizer.encode(prompt, { addSpecialTokens: false }).length);
    assert.equal(a.usage!.total_tokens, a.usage!.prompt_tokens + 6);
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
    assert.ok(a.choices[0]!.message.content!.length > 0);
  });

  test('streamed chunks add up to the non-streamed reply and end with usage when asked', async () => {
    const whole = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 8, temperature: 0 });
    const stream = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let role: string | undefined;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      role ??= choice.delta.role;
      text += choice.delta.content ?? '';
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(role, 'assistant');
    assert.equal(text, whole.choices[0]!.message.content);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, whole.usage);
    assert.ok(chunks >= 8 + 2, `${chunks} chunks`);
  });

  test('n sequences, seeded sampling repeats, stop strings cut the text', async () => {
    const req = { model: CHAT_MODEL, messages, max_tokens: 10, temperature: 1, seed: 7, n: 3 };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
    assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
    assert.ok(new Set(a.choices.map((c) => c.message.content)).size > 1, 'the n sequences differ');
    assert.equal(a.usage!.completion_tokens, 30);
    const text = a.choices[0]!.message.content!;
    const word = text.trim().split(/\s+/)[1] ?? text.slice(2, 4);
    const stopped = await client.chat.completions.create({ ...req, n: 1, stop: [word] });
    assert.equal(stopped.choices[0]!.message.content, text.slice(0, text.indexOf(word)));
    assert.equal(stopped.choices[0]!.finish_reason, 'stop');
  });

  test('logprobs and top_logprobs per token', async () => {
    const r = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0]!.logprobs!.content!;
    assert.equal(content.length, 4);
    assert.equal(content.map((t) => t.token).join(''), r.choices[0]!.message.content);
    for (const t of content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      // Greedy: the chosen token is the most likely one.
      assert.equal(t.top_logprobs[0]!.token, t.token);
      assert.ok(Math.abs(t.top_logprobs[0]!.logprob - t.logprob) < 1e-6);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
    }
  });

  test('base:adapter runs the LoRA adapter on the same base, and differs from the base', async () => {
    const base = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 8, temperature: 0, logprobs: true });
    const adapted = await client.chat.completions.create({ model: ADAPTER_MODEL, messages, max_tokens: 8, temperature: 0, logprobs: true });
    assert.equal(adapted.model, ADAPTER_MODEL);
    assert.notDeepEqual(adapted.choices[0]!.logprobs!.content!.map((t) => t.logprob), base.choices[0]!.logprobs!.content!.map((t) => t.logprob));
    const listed = await client.models.list();
    assert.deepEqual(listed.data.map((m) => m.id).sort(), [CHAT_MODEL, ADAPTER_MODEL].sort());
  });

  test('LangChain ChatOpenAI invokes and streams against the server', async () => {
    const chat = new ChatOpenAI({ model: CHAT_MODEL, apiKey: 'unused', configuration: { baseURL: `${server.url}/v1` }, maxTokens: 5, temperature: 0, maxRetries: 0 });
    const reply = await chat.invoke('Say hello');
    assert.equal(typeof reply.content, 'string');
    assert.ok((reply.content as string).length > 0);
    assert.equal(reply.usage_metadata?.output_tokens, 5);
    let streamed = '';
    for await (const chunk of await chat.stream('Say hello')) streamed += chunk.content as string;
    assert.equal(streamed, reply.content);
  });
});
