import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { CHAT_MODEL, startServer, type TestServer } from './helpers.js';

const schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, kind: { enum: ['cat', 'dog'] }, ok: { type: 'boolean' } },
  required: ['name', 'age', 'ok', 'kind'],
  additionalProperties: false,
};

describe('response_format through constrained decoding', () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.close());
  const messages = [{ role: 'user' as const, content: 'Give me a JSON object' }];

  test('json_object: every sampled reply parses as a JSON object', async () => {
    const r = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 80, temperature: 1, seed: 3, n: 3, response_format: { type: 'json_object' } });
    for (const c of r.choices) {
      if (c.finish_reason === 'length') continue;
      const value: unknown = JSON.parse(c.message.content!);
      assert.equal(typeof value, 'object');
      assert.ok(value !== null && !Array.isArray(value));
    }
    assert.ok(r.choices.some((c) => c.finish_reason === 'stop'), 'at least one reply is complete');
  });

  test('json_schema: replies match the schema, streamed or not', async () => {
    const validate = new Ajv().compile(schema);
    const format = { type: 'json_schema' as const, json_schema: { name: 'person', schema, strict: true } };
    const r = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 80, temperature: 0.8, seed: 11, n: 2, response_format: format });
    for (const c of r.choices) {
      assert.equal(c.finish_reason, 'stop', c.message.content!);
      assert.ok(validate(JSON.parse(c.message.content!)), `${c.message.content}: ${JSON.stringify(validate.errors)}`);
    }
    const stream = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 80, temperature: 0.8, seed: 11, response_format: format, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, r.choices[0]!.message.content);
  });

  test('a schema the recognizer cannot enforce, and a missing json_schema, are 400s', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: CHAT_MODEL, messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '^(a|b)+$' } } } }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'response_format.json_schema.schema',
    );
    await assert.rejects(client.chat.completions.create({ model: CHAT_MODEL, messages, response_format: { type: 'json_schema' } as never }), OpenAI.BadRequestError);
    const ok = await client.chat.completions.create({ model: CHAT_MODEL, messages, max_tokens: 2 });
    assert.equal(ok.usage!.completion_tokens, 2);
  });
});
