import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ApiError, toApiError } from '../../../src/apps/server/errors.js';
import { ContextLengthError, EngineClosedError, InvalidRequestError, QueueFullError, UnknownModelError } from '../../../src/text/batching/index.js';
import { CHAT_MODEL, startServer, type TestServer } from './helpers.js';

describe('engine errors as OpenAI errors', () => {
  test('each engine error gets its status, type and code', () => {
    const cases: [Error, number, string, string | null][] = [
      [new QueueFullError(3, 3), 429, 'rate_limit_error', 'queue_full'],
      [new ContextLengthError(100, 50, 128), 400, 'invalid_request_error', 'context_length_exceeded'],
      [new UnknownModelError('x', ['a']), 404, 'invalid_request_error', 'model_not_found'],
      [new InvalidRequestError('topLogprobs', 'must be 0-20'), 400, 'invalid_request_error', null],
      [new EngineClosedError(), 503, 'server_error', 'shutting_down'],
    ];
    for (const [err, status, type, code] of cases) {
      const api = toApiError(err);
      assert.equal(api.status, status, err.name);
      assert.equal(api.body.error.type, type, err.name);
      assert.equal(api.body.error.code, code, err.name);
    }
    assert.match(toApiError(new QueueFullError(3, 3)).message, /3 waiting, at most 3/);
  });

  test('an unexpected error is a 500 that tells nothing of the internals', () => {
    const api = toApiError(new Error('ENOENT: /secret/path'));
    assert.equal(api.status, 500);
    assert.doesNotMatch(api.message, /secret/);
    assert.ok(toApiError(new ApiError(418, 'teapot')).status === 418);
  });
});

describe('bad requests get OpenAI error bodies and the server keeps serving', () => {
  let server: TestServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer();
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.close());

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: r.status, body: (await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } };
  };
  const chat = (fields: Record<string, unknown>) => post('/v1/chat/completions', JSON.stringify({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, ...fields }));

  /** A normal request after each bad one still succeeds. */
  async function stillServes(): Promise<void> {
    const r = await client.chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(r.usage!.completion_tokens, 2);
  }

  test('malformed JSON', async () => {
    const r = await post('/v1/chat/completions', '{"model": "gpt2-tiny-chat", "messages": [');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.type, 'invalid_request_error');
    assert.equal(r.body.error.code, 'invalid_json');
    assert.match(r.body.error.message, /JSON/);
    await stillServes();
  });

  test('unknown fields, at the top and inside a message', async () => {
    let r = await chat({ temprature: 0.5 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'temprature');
    assert.match(r.body.error.message, /Unrecognized request argument supplied: temprature/);
    r = await post('/v1/chat/completions', JSON.stringify({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'hi', mood: 'happy' }] }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'messages[0].mood');
    await stillServes();
  });

  test('wrong types are refused, not coerced', async () => {
    let r = await chat({ max_tokens: '5' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'max_tokens');
    r = await post('/v1/chat/completions', JSON.stringify({ model: CHAT_MODEL, messages: 'hi' }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'messages');
    r = await chat({ temperature: 3 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'temperature');
    r = await post('/v1/completions', JSON.stringify({ model: CHAT_MODEL }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'prompt');
    assert.match(r.body.error.message, /Missing required parameter: 'prompt'/);
    await stillServes();
  });

  test('an unknown model is a 404 naming the served ones', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /`gpt-4o` does not exist \(served: gpt2-tiny-chat\)/);
      return true;
    });
    await stillServes();
  });

  test('n: 1000 and max_tokens: -1', async () => {
    let r = await chat({ n: 1000 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'n');
    assert.match(r.body.error.message, /must be <= 128/);
    r = await chat({ max_tokens: -1 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'max_tokens');
    await assert.rejects(client.completions.create({ model: CHAT_MODEL, prompt: 'hi', max_tokens: -1 }), OpenAI.BadRequestError);
    await stillServes();
  });

  test('a prompt over the context is a 400 naming the numbers; a large max_tokens is clamped', async () => {
    const long = 'word '.repeat(300);
    const r = await chat({ messages: [{ role: 'user', content: long }] });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'context_length_exceeded');
    const promptTokens = Number(/resulted in (\d+) tokens/.exec(r.body.error.message)?.[1]);
    assert.ok(promptTokens > 128, r.body.error.message);
    assert.match(r.body.error.message, /maximum context length is 128 tokens/);
    const clamped = await client.completions.create({ model: CHAT_MODEL, prompt: 'word '.repeat(100), max_tokens: 1000 });
    assert.equal(clamped.usage!.prompt_tokens + clamped.usage!.completion_tokens <= 128, true);
    assert.equal(clamped.choices[0]!.finish_reason === 'length' || clamped.choices[0]!.finish_reason === 'stop', true);
    await stillServes();
  });

  test('a 50 MB body gets 413 without being read whole, and the server keeps serving', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(50 * 2 ** 20) } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(2 ** 20, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 50 && req.write(chunk)) sent++;
        if (sent < 50) req.once('drain', pump);
        else req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    await stillServes();
  });

  test('content parts other than text, and unknown routes', async () => {
    let r = await chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] });
    assert.equal(r.status, 400);
    const got = await fetch(`${server.url}/v1/models/..%2F..%2Fetc%2Fpasswd`);
    assert.equal(got.status, 404);
    assert.equal(((await got.json()) as { error: { code: string } }).error.code, 'model_not_found');
    r = await post('/v1/nothing-here', '{}');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'unknown_url');
    await stillServes();
  });
});
