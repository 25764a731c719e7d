import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubError, hubCacheDir, isRepoId, repoCacheDir, resolveModelDir, type DownloadProgress } from '../../src/io/hub.js';
import { readShardedSafetensors, writeSafetensorsCheckpoint } from '../../src/io/safetensors.js';
import { FIXTURES_DIR, fixturePath } from '../helpers/fixtures.js';

interface Logged {
  path: string;
  range: string | undefined;
  status: number;
}

interface ServerOptions {
  /** Sent as X-Repo-Commit on every response, like the real hub. */
  commit?: string;
  /** Reply 200 with the whole file even when a Range is asked for. */
  ignoreRange?: boolean;
  /** Files whose first request is cut off halfway (connection destroyed). */
  cutOnce?: Set<string>;
  /** Extra id -> directory mappings besides forja-test/<fixture folder>. */
  extra?: Record<string, string>;
}

interface TestServer {
  endpoint: string;
  log: Logged[];
  close(): Promise<void>;
}

/** Serves /{org}/{name}/resolve/{revision}/{file} from the shared fixtures, with Range support. */
async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const log: Logged[] = [];
  const cut = new Set(opts.cutOnce ?? []);
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range;
    const reply = (status: number, headers: Record<string, string | number> = {}, body?: Buffer): void => {
      log.push({ path, range, status });
      if (opts.commit) headers['x-repo-commit'] = opts.commit;
      res.writeHead(status, headers);
      res.end(body);
    };
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m || req.method !== 'GET') return reply(404);
    const [, org, name, , file] = m as unknown as [string, string, string, string, string];
    const id = `${org}/${name}`;
    const root = opts.extra?.[id] ?? (org === 'forja-test' ? join(FIXTURES_DIR, name) : undefined);
    if (!root || file.split('/').includes('..')) return reply(404);
    const full = join(root, file);
    if (!fs.existsSync(full) || !fs.statSync(full).isFile()) return reply(404);
    const data = fs.readFileSync(full);
    if (cut.has(file)) {
      cut.delete(file);
      log.push({ path, range, status: -1 });
      res.writeHead(200, { 'content-length': data.length });
      res.write(data.subarray(0, Math.floor(data.length / 2)), () => res.socket?.destroy());
      return;
    }
    const rm = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    if (rm && !opts.ignoreRange) {
      const start = Number(rm[1]);
      const end = rm[2] ? Math.min(Number(rm[2]), data.length - 1) : data.length - 1;
      if (start >= data.length) return reply(416, { 'content-range': `bytes */${data.length}` });
      const body = data.subarray(start, end + 1);
      return reply(206, { 'content-length': body.length, 'content-range': `bytes ${start}-${end}/${data.length}` }, body);
    }
    reply(200, { 'content-length': data.length }, data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const ENV_KEYS = ['HF_ENDPOINT', 'HF_HOME', 'HF_HUB_CACHE', 'HF_HUB_OFFLINE', 'HF_TOKEN'] as const;

/** Run `fn` with a fresh HF_HOME and the given endpoint, restoring the environment afterwards. */
async function withEnv(endpoint: string | undefined, fn: (home: string) => Promise<void>): Promise<void> {
  const saved = ENV_KEYS.map((k) => [k, process.env[k]] as const);
  const home = fs.mkdtempSync(join(tmpdir(), 'forja-hub-'));
  for (const k of ENV_KEYS) delete process.env[k];
  process.env.HF_HOME = home;
  if (endpoint) process.env.HF_ENDPOINT = endpoint;
  try {
    await fn(home);
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const PROBED = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'model.safetensors'];
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function assertSameBytes(a: string, b: string): void {
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${a} differs from ${b}`);
}

test('downloads gpt2-tiny into the huggingface_hub layout, byte-identical, then hits the cache', async () => {
  const server = await startServer({ commit: COMMIT });
  try {
    await withEnv(server.endpoint, async (home) => {
      const progress: DownloadProgress[] = [];
      const dir = await resolveModelDir('forja-test/gpt2-tiny', { onProgress: (p) => progress.push(p) });
      const repo = join(home, 'hub', 'models--forja-test--gpt2-tiny');
      assert.equal(dir, join(repo, 'snapshots', COMMIT));
      assert.equal(fs.readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
      for (const f of PROBED) assertSameBytes(join(dir, f), fixturePath('gpt2-tiny', f));
      assert.deepEqual(fs.readdirSync(dir).sort(), [...PROBED].sort(), 'only probed files, no leftovers');
      // 404s are remembered like huggingface_hub does.
      assert.ok(fs.existsSync(join(repo, '.no_exist', COMMIT, 'special_tokens_map.json')));
      const last = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
      assert.equal(last.totalBytes, fs.statSync(fixturePath('gpt2-tiny', 'model.safetensors')).size);
      assert.equal(last.downloadedBytes, last.totalBytes);
      // Second resolve: everything accounted for, so no request at all.
      const before = server.log.length;
      assert.equal(await resolveModelDir('forja-test/gpt2-tiny'), dir);
      assert.equal(server.log.length, before);
      assert.equal(hubCacheDir(), join(home, 'hub'));
    });
  } finally {
    await server.close();
  }
});

test('onProgress: monotone bytes per file, one final done event, nothing for 404s or cache hits, no terminal output', async () => {
  const server = await startServer({ commit: COMMIT });
  const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  const stderrWrite = process.stderr.write;
  const printed: string[] = [];
  try {
    await withEnv(server.endpoint, async () => {
      const progress: DownloadProgress[] = [];
      // Even on a TTY, io draws nothing: drawing is the apps' job.
      Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
      // (stdout is the test runner's channel to its parent, so only stderr, where bars went, is watched.)
      process.stderr.write = ((chunk: unknown) => (printed.push(String(chunk)), true)) as typeof process.stderr.write;
      let dir: string;
      try {
        dir = await resolveModelDir('forja-test/gpt2-tiny', { onProgress: (p) => progress.push({ ...p }) });
        await resolveModelDir('forja-test/llama-tiny'); // no callback: still silent
      } finally {
        process.stderr.write = stderrWrite;
        if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
        else delete (process.stderr as { isTTY?: boolean }).isTTY;
      }
      assert.deepEqual(printed, []);
      const files = [...new Set(progress.map((p) => p.file))];
      assert.deepEqual(files.sort(), [...PROBED].sort(), 'every downloaded file reports, 404s do not');
      for (const file of files) {
        const events = progress.filter((p) => p.file === file);
        const size = fs.statSync(join(dir, file)).size;
        for (let i = 1; i < events.length; i++) assert.ok(events[i]!.downloadedBytes >= events[i - 1]!.downloadedBytes, `${file}: monotone`);
        assert.deepEqual(events.map((e) => e.done).filter(Boolean), [true], `${file}: one done event`);
        assert.deepEqual(events.at(-1), { file, downloadedBytes: size, totalBytes: size, done: true }, `${file}: done comes last`);
        assert.ok(events.every((e) => e.totalBytes === size), `${file}: total known from Content-Length`);
      }
      // One file at a time: each file's reports are contiguous.
      const runs = progress.map((p) => p.file).filter((f, i, all) => f !== all[i - 1]);
      assert.equal(runs.length, files.length);
      const again: DownloadProgress[] = [];
      await resolveModelDir('forja-test/gpt2-tiny', { onProgress: (p) => again.push(p) });
      assert.deepEqual(again, [], 'a cache hit downloads nothing');
    });
  } finally {
    await server.close();
  }
});

test('resumes a partial .incomplete download with a Range request (206)', async () => {
  const server = await startServer();
  try {
    await withEnv(server.endpoint, async (home) => {
      const snap = join(home, 'hub', 'models--forja-test--llama-tiny', 'snapshots', 'main');
      fs.mkdirSync(snap, { recursive: true });
      const full = fs.readFileSync(fixturePath('llama-tiny', 'model.safetensors'));
      fs.writeFileSync(join(snap, 'model.safetensors.incomplete'), full.subarray(0, 1_000_000));
      const dir = await resolveModelDir('forja-test/llama-tiny');
      assert.equal(dir, snap);
      assertSameBytes(join(dir, 'model.safetensors'), fixturePath('llama-tiny', 'model.safetensors'));
      assert.ok(!fs.existsSync(join(snap, 'model.safetensors.incomplete')));
      const req = server.log.find((l) => l.path.endsWith('/model.safetensors'))!;
      assert.equal(req.range, 'bytes=1000000-');
      assert.equal(req.status, 206);
    });
  } finally {
    await server.close();
  }
});

test('restarts from zero when the server ignores Range (200)', async () => {
  const server = await startServer({ ignoreRange: true });
  try {
    await withEnv(server.endpoint, async (home) => {
      const snap = join(home, 'hub', 'models--forja-test--gpt2-tiny', 'snapshots', 'main');
      fs.mkdirSync(snap, { recursive: true });
      fs.writeFileSync(join(snap, 'model.safetensors.incomplete'), Buffer.alloc(5000, 7)); // garbage: must be replaced
      const dir = await resolveModelDir('forja-test/gpt2-tiny');
      assertSameBytes(join(dir, 'model.safetensors'), fixturePath('gpt2-tiny', 'model.safetensors'));
      const req = server.log.find((l) => l.path.endsWith('/model.safetensors'))!;
      assert.equal(req.range, 'bytes=5000-');
      assert.equal(req.status, 200);
    });
  } finally {
    await server.close();
  }
});

test('a dropped connection is retried from where it stopped', async () => {
  const server = await startServer({ cutOnce: new Set(['model.safetensors']) });
  try {
    await withEnv(server.endpoint, async () => {
      const dir = await resolveModelDir('forja-test/clip-tiny');
      assertSameBytes(join(dir, 'model.safetensors'), fixturePath('clip-tiny', 'model.safetensors'));
      const reqs = server.log.filter((l) => l.path.endsWith('/model.safetensors'));
      assert.equal(reqs.length, 2);
      assert.equal(reqs[0]!.status, -1);
      assert.match(reqs[1]!.range ?? '', /^bytes=\d+-$/);
      assert.equal(reqs[1]!.status, 206);
    });
  } finally {
    await server.close();
  }
});

test('HF_HUB_OFFLINE: a cached model resolves without the network, a miss is a clear error', async () => {
  const server = await startServer({ commit: COMMIT });
  let endpoint = server.endpoint;
  try {
    await withEnv(endpoint, async (home) => {
      const dir = await resolveModelDir('forja-test/gpt2-tiny', { weights: true });
      await server.close();
      endpoint = '';
      process.env.HF_HUB_OFFLINE = '1';
      assert.equal(await resolveModelDir('forja-test/gpt2-tiny'), dir);
      await assert.rejects(resolveModelDir('forja-test/llama-tiny'), (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'OFFLINE_MISS');
        assert.match(err.message, /Model "forja-test\/llama-tiny" \(revision "main"\) is not cached and HF_HUB_OFFLINE is set/);
        assert.ok(err.message.includes(join(home, 'hub', 'models--forja-test--llama-tiny', 'snapshots', 'main')));
        return true;
      });
    });
  } finally {
    if (endpoint) await server.close();
  }
});

test('a model that does not exist (404 on config.json) is a clear error', async () => {
  const server = await startServer();
  try {
    await withEnv(server.endpoint, async (home) => {
      await assert.rejects(resolveModelDir('forja-test/no-such-model'), (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'NOT_FOUND');
        assert.equal(err.status, 404);
        assert.match(err.message, /Model "forja-test\/no-such-model" not found at http:\/\/127\.0\.0\.1:\d+ \(revision "main"\): .*\/forja-test\/no-such-model\/resolve\/main\/config\.json returned 404/);
        return true;
      });
      assert.ok(!fs.existsSync(join(home, 'hub', 'models--forja-test--no-such-model', 'snapshots')));
    });
  } finally {
    await server.close();
  }
});

test('config but no weights is a clear error; weights:false fetches only config/tokenizer files', async () => {
  const root = fs.mkdtempSync(join(tmpdir(), 'forja-noweights-'));
  fs.copyFileSync(fixturePath('gpt2-tiny', 'config.json'), join(root, 'config.json'));
  fs.copyFileSync(fixturePath('gpt2-tiny', 'tokenizer_config.json'), join(root, 'tokenizer_config.json'));
  const server = await startServer({ extra: { 'local/noweights': root } });
  try {
    await withEnv(server.endpoint, async () => {
      await assert.rejects(resolveModelDir('local/noweights'), (err: unknown) => {
        assert.ok(err instanceof HubError);
        assert.equal(err.code, 'NO_WEIGHTS');
        assert.match(err.message, /"local\/noweights" \(revision "main"\) has neither model\.safetensors nor model\.safetensors\.index\.json/);
        return true;
      });
      const dir = await resolveModelDir('local/noweights', { weights: false });
      assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'tokenizer_config.json']);
    });
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('sharded checkpoints: the index is fetched, then every shard it lists', async () => {
  const root = fs.mkdtempSync(join(tmpdir(), 'forja-sharded-'));
  fs.copyFileSync(fixturePath('gpt2-tiny', 'config.json'), join(root, 'config.json'));
  const files = await writeSafetensorsCheckpoint(
    root,
    {
      a: { shape: [8], data: new Float32Array(8).fill(1) },
      b: { shape: [8], data: new Float32Array(8).fill(2) },
    },
    { maxShardBytes: 40 },
  );
  assert.equal(files.length, 3);
  const server = await startServer({ extra: { 'local/sharded': root } });
  try {
    await withEnv(server.endpoint, async () => {
      const dir = await resolveModelDir('local/sharded');
      for (const f of files) assertSameBytes(join(dir, f), join(root, f));
      const merged = await readShardedSafetensors(dir);
      assert.deepEqual(merged.get('b')!.data, new Float32Array(8).fill(2));
      // A shard missing on the server is named in the error.
      fs.rmSync(dir, { recursive: true });
      fs.rmSync(join(root, files[1]!));
      await assert.rejects(resolveModelDir('local/sharded'), /lists shard "model-00002-of-00002\.safetensors" but .* returned 404/);
    });
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('local directories pass through; bad ids are rejected', async () => {
  await withEnv('http://127.0.0.1:9', async () => {
    assert.equal(await resolveModelDir(fixturePath('gpt2-tiny')), fixturePath('gpt2-tiny'));
    await assert.rejects(resolveModelDir('./definitely/not/here'), /neither an existing directory nor a valid hub model id/);
    await assert.rejects(resolveModelDir(fixturePath('gpt2-tiny', 'config.json')), /is a file, not a model directory/);
  });
  assert.ok(isRepoId('gpt2'));
  assert.ok(isRepoId('meta-llama/Llama-3.2-1B'));
  assert.ok(!isRepoId('a/b/c'));
  assert.ok(!isRepoId('../x'));
  assert.ok(repoCacheDir('org/name', { cacheDir: '/c' }).endsWith('/c/models--org--name'));
});
