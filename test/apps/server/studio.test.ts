import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/apps/server/app.js';
import { STUDIO_CSP, STUDIO_DIR, studioRoutes } from '../../../src/apps/server/studio.js';

describe('the studio at /', () => {
  let root: string;
  let app: FastifyInstance;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'forja-studio-'));
    const dir = join(root, 'studio');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-1.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
    writeFileSync(join(dir, 'assets', 'app-1.css'), 'body{}');
    writeFileSync(join(root, 'secret.txt'), 'secret');
    symlinkSync(join(root, 'secret.txt'), join(dir, 'assets', 'linked.js'));
    app = await buildServer({ routes: [studioRoutes({ dir })] });
  });

  after(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('serves index.html and its assets with a CSP that allows only the server itself', async () => {
    const index = await app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.headers['content-type'] as string, /^text\/html/);
    assert.equal(index.headers['content-security-policy'], STUDIO_CSP);
    assert.match(STUDIO_CSP, /default-src 'self'/);
    assert.match(index.body, /\/assets\/app-1\.js/);
    const js = await app.inject({ url: '/assets/app-1.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.match(js.headers['cache-control'] as string, /immutable/);
    assert.equal(js.body, 'console.log(1)');
    assert.match((await app.inject({ url: '/assets/app-1.css' })).headers['content-type'] as string, /^text\/css/);
  });

  test('a path is only a key into the files listed at start-up: traversal, encodings and symlinks get 404', async () => {
    for (const url of ['/assets/linked.js', '/assets/../index.html', '/assets/..%2F..%2Fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', `/assets/${encodeURIComponent(join(root, 'secret.txt'))}`, '/assets/', '/secret.txt']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 404, `${url} answered ${res.statusCode}`);
      assert.doesNotMatch(res.body, /secret$/);
    }
  });

  test('without a build, / says how to build it and /v1 still answers', async () => {
    const bare = await buildServer({ routes: [studioRoutes({ dir: join(root, 'missing') })] });
    try {
      const res = await bare.inject({ url: '/' });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /npm run build:studio/);
      assert.equal((await bare.inject({ url: '/v1/models' })).statusCode, 200);
    } finally {
      await bare.close();
    }
  });

  test('/api/models lists the served models with their kinds, behind --api-key like /v1/models', async () => {
    const keyed = await buildServer({
      apiKey: 'sesame',
      routes: [(_app, ctx) => ctx.addModel({ id: 'digits', created: 1, owned_by: 'forja', kind: 'image' }), studioRoutes({ dir: join(root, 'missing') })],
    });
    try {
      assert.equal((await keyed.inject({ url: '/api/models' })).statusCode, 401);
      assert.equal((await keyed.inject({ url: '/api/models', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
      const ok = await keyed.inject({ url: '/api/models', headers: { authorization: 'Bearer sesame' } });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(ok.json(), { object: 'list', data: [{ id: 'digits', object: 'model', created: 1, owned_by: 'forja', kind: 'image' }] });
    } finally {
      await keyed.close();
    }
  });

  test('the built studio (npm run build:studio) references only files it serves', { skip: existsSync(join(STUDIO_DIR, 'index.html')) ? false : 'dist/studio is not built (npm run build:studio)' }, async () => {
    const real = await buildServer({ routes: [studioRoutes()] });
    try {
      const index = await real.inject({ url: '/' });
      assert.equal(index.statusCode, 200);
      const refs = [...index.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => !r.startsWith('data:'));
      assert.ok(refs.length >= 2, `index.html references ${refs.join(', ')}`);
      for (const ref of refs) {
        assert.ok(ref.startsWith('/assets/'), `${ref} is not one of the server's own files`);
        const res = await real.inject({ url: ref });
        assert.equal(res.statusCode, 200, ref);
        assert.equal(res.rawPayload.length, readFileSync(join(STUDIO_DIR, ref)).length);
        assert.doesNotMatch(res.body, /https?:\/\/(fonts\.|cdn|unpkg|jsdelivr)/, `${ref} loads from a CDN`);
      }
    } finally {
      await real.close();
    }
  });
});
