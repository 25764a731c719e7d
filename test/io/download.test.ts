import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubError, downloadFile } from '../../src/io/download.js';

/** Serve `handler` on 127.0.0.1 while `fn` runs, with a temp dir. */
async function withServer(handler: http.RequestListener, fn: (url: string, dir: string) => Promise<void>): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = fs.mkdtempSync(join(tmpdir(), 'forja-dl-'));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/f`, dir);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BODY = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));

test('downloads to dest through .incomplete, reporting bytes as they arrive', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-length': BODY.length, 'x-name': 'chosen.bin' });
      res.end(BODY);
    },
    async (url, dir) => {
      const seen: [number, number | undefined][] = [];
      let chosen = 0;
      const result = await downloadFile(url, {
        dest: async (res) => {
          chosen++;
          return join(dir, res.headers.get('x-name')!);
        },
        onProgress: (done, total) => seen.push([done, total]),
      });
      assert.equal(result, 'ok');
      assert.equal(chosen, 1, 'dest chosen once, from the response');
      assert.ok(fs.readFileSync(join(dir, 'chosen.bin')).equals(BODY));
      assert.deepEqual(fs.readdirSync(dir), ['chosen.bin'], 'no .incomplete left');
      assert.deepEqual(seen[0], [0, BODY.length]);
      assert.deepEqual(seen.at(-1), [BODY.length, BODY.length]);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0], 'monotone');
    },
  );
});

test('404 is "not-found" with nothing written; 401 is UNAUTHORIZED naming HF_TOKEN', async () => {
  await withServer(
    (req, res) => {
      res.writeHead(req.headers.authorization ? 401 : 404);
      res.end();
    },
    async (url, dir) => {
      const dest = join(dir, 'f.bin');
      assert.equal(await downloadFile(url, { dest }), 'not-found');
      assert.deepEqual(fs.readdirSync(dir), []);
      await assert.rejects(downloadFile(url, { dest, headers: { authorization: 'Bearer x' } }), (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'UNAUTHORIZED');
        assert.equal(err.status, 401);
        assert.match(err.message, /returned 401: .*set HF_TOKEN/);
        return true;
      });
    },
  );
});

test('downloadFile verifies Content-Length and keeps the partial file when short', async () => {
  // A server that promises more bytes than it sends, every time.
  await withServer(
    (_req, res) => {
      res.writeHead(200, { 'content-length': 100_000 });
      res.write(Buffer.alloc(10_000), () => setTimeout(() => res.socket?.destroy(), 100));
    },
    async (url, dir) => {
      const dest = join(dir, 'f.bin');
      let received = -1;
      await assert.rejects(downloadFile(url, { dest, retries: 0 }), (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'NETWORK');
        // Usually all 10000 bytes; fewer when the client had not read them before the reset (a loaded machine).
        const m = /download of .*\/f was interrupted after (\d+) bytes \(kept .*f\.bin\.incomplete; rerun to resume\)/.exec(err.message);
        assert.ok(m, err.message);
        received = Number(m[1]);
        return true;
      });
      assert.ok(received >= 0 && received <= 10_000);
      assert.ok(!fs.existsSync(dest));
      assert.equal(fs.statSync(`${dest}.incomplete`).size, received, 'the partial file holds exactly what was reported');
    },
  );
});

test('a 416 on a complete partial file finishes it without a body', async () => {
  await withServer(
    (req, res) => {
      assert.equal(req.headers.range, `bytes=${BODY.length}-`);
      res.writeHead(416, { 'content-range': `bytes */${BODY.length}` });
      res.end();
    },
    async (url, dir) => {
      const dest = join(dir, 'f.bin');
      fs.writeFileSync(`${dest}.incomplete`, BODY);
      const seen: number[] = [];
      assert.equal(await downloadFile(url, { dest, onProgress: (done) => seen.push(done) }), 'ok');
      assert.ok(fs.readFileSync(dest).equals(BODY));
      assert.deepEqual(seen, [BODY.length]);
    },
  );
});
