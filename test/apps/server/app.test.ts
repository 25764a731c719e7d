import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { buildServer } from '../../../src/apps/server/app.js';
import { CHAT_MODEL, startServer, type TestServer } from './helpers.js';

const KEY = 'sk-test-0123456789';

async function metric(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the app: health, metrics, key, limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ apiKey: KEY, requestTimeout: 1_000, engine: { maxBatch: 2, maxQueue: 0 } });
  });
  after(() => server.close());
  const client = (apiKey = KEY) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
  const normal = async () => {
    const r = await client().chat.completions.create({ model: CHAT_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(r.usage!.completion_tokens, 2);
  };

  test('/health answers without a key; /v1 needs it; a wrong key is a 401', async () => {
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const missing = await fetch(`${server.url}/v1/models`);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'missing_api_key');
    await assert.rejects(client('sk-wrong').models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError && err.code === 'invalid_api_key');
    await assert.rejects(client(KEY.slice(0, -1)).models.list(), OpenAI.AuthenticationError);
    await assert.rejects(client(`${KEY}x`).models.list(), OpenAI.AuthenticationError);
    // Without the key a body is never read: even an over-limit one is a 401.
    const big = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(17 * 2 ** 20) });
    assert.equal(big.status, 401);
    assert.deepEqual((await client().models.list()).data.map((m) => m.id), [CHAT_MODEL]);
  });

  test('CORS is off by default: no allow-origin header, preflights are not answered', async () => {
    const r = await fetch(`${server.url}/health`, { headers: { origin: 'https://evil.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${server.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
  });

  test('/metrics counts requests by route and status, tokens, and latencies', async () => {
    const before = await metric(server.url, 'forja_completion_tokens_total{model="gpt2-tiny-chat"}');
    await normal();
    const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
    assert.match(text, /forja_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} \d+/);
    assert.match(text, /forja_requests_total\{route="\/v1\/models",method="GET",status="401"\} [1-9]/);
    assert.equal(await metric(server.url, 'forja_completion_tokens_total{model="gpt2-tiny-chat"}'), before + 2);
    assert.match(text, /forja_time_to_first_token_seconds_count\{model="gpt2-tiny-chat"\} [1-9]/);
    assert.match(text, /forja_inter_token_latency_seconds_bucket\{le="\+Inf",model="gpt2-tiny-chat"\} [1-9]/);
    assert.match(text, /forja_queue_depth 0/);
    assert.match(text, /forja_running_sequences 0/);
  });

  test('500 connections that send and read nothing exhaust nothing, and are closed by the request timeout', async () => {
    const sockets: Socket[] = [];
    const { port } = new URL(server.url);
    await Promise.all(
      Array.from({ length: 500 }, () => new Promise<void>((resolve, reject) => {
        const s = connect(Number(port), '127.0.0.1', () => {
          // Half a request line, then nothing: the slow-loris pattern.
          s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n');
          resolve();
        });
        s.on('error', () => undefined);
        s.once('error', reject);
        sockets.push(s);
      })),
    );
    const connections = (): Promise<number> => new Promise((resolve, reject) => server.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    await waitFor(async () => (await connections()) >= 500, 'the server to accept the 500 connections');
    await normal();
    // The client never reads, so only the server side sees them go.
    await waitFor(async () => (await connections()) < 10, 'the server to close the idle connections', 15_000);
    for (const s of sockets) s.destroy();
    await normal();
  });

  test('a stream cancelled mid-token frees its slot; a full queue is a 429; then requests succeed', async () => {
    const body = JSON.stringify({ model: CHAT_MODEL, prompt: 'Once', max_tokens: 120, stream: true, temperature: 1 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };
    const aborts = [new AbortController(), new AbortController()];
    const readers = await Promise.all(
      aborts.map(async (a) => {
        const r = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers, body, signal: a.signal });
        const reader = r.body!.getReader();
        await reader.read();
        return reader;
      }),
    );
    await waitFor(async () => server.engine.stats().running === 2, 'two running sequences');
    // maxBatch 2 and maxQueue 0: a third request has no place.
    await assert.rejects(client().completions.create({ model: CHAT_MODEL, prompt: 'x', max_tokens: 2 }), (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'queue_full');
    const cancelledBefore = await metric(server.url, 'forja_cancelled_sequences_total{model="gpt2-tiny-chat"}');
    for (const a of aborts) a.abort();
    for (const r of readers) await r.cancel().catch(() => undefined);
    await waitFor(async () => server.engine.stats().running === 0, 'the slots to free');
    await waitFor(async () => (await metric(server.url, 'forja_running_sequences')) === 0, '/metrics to show no running sequence');
    assert.equal(await metric(server.url, 'forja_cancelled_sequences_total{model="gpt2-tiny-chat"}'), cancelledBefore + 2);
    const tokens = await metric(server.url, 'forja_completion_tokens_total{model="gpt2-tiny-chat"}');
    await normal();
    assert.equal(await metric(server.url, 'forja_completion_tokens_total{model="gpt2-tiny-chat"}'), tokens + 2);
  });

  test('a non-streaming request whose client goes away is cancelled too', async () => {
    const a = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: CHAT_MODEL, prompt: 'Once', max_tokens: 120 }), signal: a.signal });
    await waitFor(async () => server.engine.stats().running === 1, 'a running sequence');
    a.abort();
    await assert.rejects(pending);
    await waitFor(async () => server.engine.stats().running === 0, 'the slot to free');
    await normal();
  });
});

describe('buildServer without models', () => {
  test('serves /health and an empty /v1/models; CORS only for the origins given', async () => {
    const app = await buildServer({ corsOrigins: ['http://localhost:5173'] });
    try {
      const models = await app.inject({ method: 'GET', url: '/v1/models' });
      assert.deepEqual(models.json(), { object: 'list', data: [] });
      const ok = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'http://localhost:5173' } });
      assert.equal(ok.headers['access-control-allow-origin'], 'http://localhost:5173');
      const other = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'http://other' } });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const chat = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'x', messages: [{ role: 'user', content: 'hi' }] } });
      assert.equal(chat.statusCode, 404);
      assert.equal(chat.json().error.code, 'model_not_found');
    } finally {
      await app.close();
    }
  });

  test('route modules plug in and list their models', async () => {
    const app = await buildServer({
      routes: [
        (a, ctx) => {
          ctx.addModel({ id: 'embedder', created: 1, owned_by: 'forja', kind: 'embedding' });
          a.get('/v1/ping', async () => ({ pong: true }));
        },
      ],
      apiKey: KEY,
    });
    try {
      const models = await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${KEY}` } });
      assert.deepEqual(models.json().data.map((m: { id: string }) => m.id), ['embedder']);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/ping' })).statusCode, 401);
      assert.deepEqual((await app.inject({ method: 'GET', url: '/v1/ping', headers: { authorization: `Bearer ${KEY}` } })).json(), { pong: true });
    } finally {
      await app.close();
    }
  });
});
