import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/apps/server/app.js';
import { parseLossCsv, runsRoutes } from '../../../src/apps/server/runs.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { readHistory, trainTinyRun, writeHistory } from '../studio/helpers.js';

interface Detail {
  id: string;
  model: string | null;
  rows: number;
  finished: boolean;
  columns: string[];
  history: Record<string, number>[];
  images: string[];
  settings: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  last: Record<string, number> | null;
}

/** Reads server-sent events from a live response until `count` have arrived. */
async function readEvents(reader: ReadableStreamDefaultReader<string>, buffer: { text: string }, count: number): Promise<{ event: string; data: any }[]> {
  const events: { event: string; data: any }[] = [];
  while (events.length < count) {
    let end: number;
    while (events.length < count && (end = buffer.text.indexOf('\n\n')) >= 0) {
      const block = buffer.text.slice(0, end);
      buffer.text = buffer.text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) events.push({ event, data: JSON.parse(data) });
    }
    if (events.length >= count) break;
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${events.length} of ${count} events`);
    buffer.text += value;
  }
  return events;
}

describe('runs API over a --runs directory', () => {
  let root: string;
  let runsDir: string;
  let outside: string;
  let app: FastifyInstance;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'forja-runs-'));
    runsDir = join(root, 'runs');
    outside = join(root, 'outside');
    mkdirSync(runsDir);
    await trainTinyRun(runsDir, 'ae');
    // A run still training: the loss.csv a GPT run writes, no run.json yet.
    mkdirSync(join(runsDir, 'gpt small'));
    await writeHistory(join(runsDir, 'gpt small'), [{ epoch: 0, train_loss: 4.2, val_loss: 4.3 }]);
    // Not runs: a directory without logs, a hidden one, a plain file.
    mkdirSync(join(runsDir, 'empty'));
    mkdirSync(join(runsDir, '.cache'));
    writeFileSync(join(runsDir, '.cache', 'loss.csv'), 'epoch,loss\n1,1\n');
    writeFileSync(join(runsDir, 'notes.txt'), 'hello');
    // A run outside the directory, linked in, and an image linked out of a listed run.
    mkdirSync(outside);
    writeFileSync(join(outside, 'loss.csv'), 'epoch,loss\n1,0.5\n');
    copyFileSync(join(runsDir, 'ae', 'reconstructions.png'), join(outside, 'secret.png'));
    symlinkSync(outside, join(runsDir, 'linked'));
    symlinkSync(join(outside, 'secret.png'), join(runsDir, 'ae', 'linked.png'));
    app = await buildServer({ routes: [runsRoutes({ dir: runsDir, pollMs: 50 })] });
  });

  after(async () => {
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('lists the runs under the directory and nothing else', async () => {
    const res = await app.inject({ url: '/api/runs' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { runs: Detail[] };
    assert.deepEqual(body.runs.map((r) => r.id).sort(), ['ae', 'gpt small']);
    const ae = body.runs.find((r) => r.id === 'ae')!;
    assert.deepEqual(Object.keys(ae).sort(), ['finished', 'id', 'last', 'model', 'rows', 'updated'], 'the list carries summaries, not histories');
    assert.equal(ae.model, 'autoencoder');
    assert.equal(ae.rows, 2);
    assert.equal(ae.finished, true);
    const gpt = body.runs.find((r) => r.id === 'gpt small')!;
    assert.deepEqual([gpt.finished, gpt.rows, gpt.last], [false, 1, { epoch: 1, train_loss: 4.2, val_loss: 4.3 }]);
  });

  test("a run's detail is what the trainer wrote: loss.csv, run.json's settings and result, its PNGs", async () => {
    const res = await app.inject({ url: '/api/runs/ae' });
    assert.equal(res.statusCode, 200);
    const detail = res.json() as Detail;
    const history = await readHistory(join(runsDir, 'ae'));
    assert.deepEqual(detail.columns, ['epoch', 'loss', 'val_loss']);
    assert.ok(detail.history.every((r) => Number.isFinite(r.loss) && Number.isFinite(r.val_loss)));
    assert.deepEqual(detail.history, history.map((r) => ({ ...r, epoch: r.epoch + 1 })));
    const runJson = JSON.parse(readFileSync(join(runsDir, 'ae', 'run.json'), 'utf8'));
    assert.deepEqual(detail.settings, runJson.settings);
    assert.equal(detail.result?.valLoss, runJson.result.valLoss);
    assert.deepEqual(detail.images, ['reconstructions.png'], 'the symlinked linked.png is not listed');
    const image = await app.inject({ url: '/api/runs/ae/images/reconstructions.png' });
    assert.equal(image.statusCode, 200);
    assert.equal(image.headers['content-type'], 'image/png');
    assert.deepEqual(image.rawPayload, readFileSync(join(runsDir, 'ae', 'reconstructions.png')));
    const spaced = await app.inject({ url: '/api/runs/gpt%20small' });
    assert.equal((spaced.json() as Detail).id, 'gpt small');
  });

  test('no request string reaches the file system: traversal, encoded slashes, absolute paths and symlinks all get 404', async () => {
    const runUrls = ['..', '%2e%2e', '.', '..%2Fae', 'ae%2F..%2F..', '%2Fetc', '%2Fetc%2Fpasswd', encodeURIComponent(join(runsDir, 'ae')), 'linked', 'empty', '.cache', 'notes.txt', 'AE', 'ae%00'];
    for (const id of runUrls) {
      for (const suffix of ['', '/events', '/images/reconstructions.png']) {
        const res = await app.inject({ url: `/api/runs/${id}${suffix}` });
        assert.equal(res.statusCode, 404, `/api/runs/${id}${suffix} answered ${res.statusCode}`);
        assert.equal(typeof (res.json() as { error: { message: string } }).error.message, 'string');
      }
    }
    const imageUrls = ['linked.png', 'loss.csv', 'run.json', 'config.json', 'model.safetensors', '..%2Fgpt%20small%2Floss.csv', '..%2F..%2Foutside%2Fsecret.png', encodeURIComponent(join(outside, 'secret.png')), '%2Fetc%2Fpasswd', 'reconstructions.png%00', '.%2Freconstructions.png'];
    for (const name of imageUrls) {
      const res = await app.inject({ url: `/api/runs/ae/images/${name}` });
      assert.equal(res.statusCode, 404, `/api/runs/ae/images/${name} answered ${res.statusCode}`);
      assert.match((res.json() as { error: { code: string } }).error.code, /image_not_found|unknown_url/);
    }
    // Raw ../ in the URL: fastify normalises nothing, so the route sees a name that is not listed.
    const raw = await app.inject({ url: '/api/runs/ae/images/../../../etc/passwd' });
    assert.equal(raw.statusCode, 404);
  });

  test('events: every row first, then each row the trainer appends, a reset when loss.csv starts afresh, and the end when the app closes', async () => {
    const live = join(runsDir, 'live');
    mkdirSync(live);
    const rows = [{ epoch: 0, loss: 0.7, val_loss: 0.69 }];
    await writeHistory(live, rows);
    const server = await buildServer({ routes: [runsRoutes({ dir: runsDir, pollMs: 50 })] });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/api/runs/live/events`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const buffer = { text: '' };
      const [first, run] = await readEvents(reader, buffer, 2);
      assert.deepEqual(first, { event: 'rows', data: { from: 0, columns: ['epoch', 'loss', 'val_loss'], rows: [{ epoch: 1, loss: 0.7, val_loss: 0.69 }] } });
      assert.equal(run!.event, 'run');
      assert.equal(run!.data.id, 'live');

      rows.push({ epoch: 1, loss: 0.6, val_loss: 0.62 }, { epoch: 2, loss: 0.5, val_loss: 0.55 });
      await writeHistory(live, rows);
      const [grown] = await readEvents(reader, buffer, 1);
      assert.deepEqual(grown, { event: 'rows', data: { from: 1, columns: ['epoch', 'loss', 'val_loss'], rows: [{ epoch: 2, loss: 0.6, val_loss: 0.62 }, { epoch: 3, loss: 0.5, val_loss: 0.55 }] } });

      await writeHistory(live, [{ epoch: 0, loss: 0.9 }]);
      const [reset] = await readEvents(reader, buffer, 1);
      assert.deepEqual(reset!.data, { from: 0, reset: true, columns: ['epoch', 'loss'], rows: [{ epoch: 1, loss: 0.9 }] });

      // A stream in flight does not hold the server open.
      const closed = server.close();
      const ended = await Promise.race([reader.read().then((r) => r.done), new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000))]);
      assert.equal(ended, true);
      await closed;
    } finally {
      await server.close();
      rmSync(live, { recursive: true, force: true });
    }
  });

  test('events while a real `forja train` process writes the run: its rows arrive epoch by epoch, then its result and grid', async () => {
    const server = await buildServer({ routes: [runsRoutes({ dir: runsDir, pollMs: 50 })] });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    // Long enough (~0.15 s an epoch) that most epochs end after the stream opens, on a fast machine too.
    const epochs = 8;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/apps/cli/main.ts', 'train', 'autoencoder', '--epochs', String(epochs), '--limit', '9000', '--out', join(runsDir, 'cli-run')], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FORJA_NO_CACHE: '1' } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      // Listed once its first epoch has written loss.csv.
      for (let listed = false; !listed; await new Promise((r) => setTimeout(r, 100))) {
        listed = ((await (await fetch(`${url}/api/runs`)).json()) as { runs: { id: string }[] }).runs.some((r) => r.id === 'cli-run');
        if (child.exitCode !== null && !listed) throw new Error(`forja train exited with ${child.exitCode} before writing a row: ${stderr}`);
      }
      const res = await fetch(`${url}/api/runs/cli-run/events`);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const buffer = { text: '' };
      const rowEvents: { from: number; rows: unknown[] }[] = [];
      let finished: Detail | undefined;
      while (!finished) {
        const [event] = await readEvents(reader, buffer, 1);
        if (event!.event === 'rows') rowEvents.push(event!.data);
        else if (event!.data.result) finished = event!.data;
      }
      assert.equal(await exited, 0, stderr);
      const rows = rowEvents.flatMap((e) => e.rows);
      assert.equal(rows.length, epochs);
      assert.ok(rowEvents.length >= 2, `the rows came in ${rowEvents.length} event(s): live, not all at the end`);
      assert.deepEqual(rowEvents.map((e) => e.from), rowEvents.map((_, i) => rowEvents.slice(0, i).reduce((n, e) => n + e.rows.length, 0)));
      assert.deepEqual(rows, (await readHistory(join(runsDir, 'cli-run'))).map((r) => ({ ...r, epoch: r.epoch + 1 })));
      assert.deepEqual(finished!.images, ['reconstructions.png']);
      assert.equal(finished!.result?.epochs, epochs);
      await reader.cancel();
    } finally {
      child.kill();
      await server.close();
      rmSync(join(runsDir, 'cli-run'), { recursive: true, force: true });
    }
  });

  test("--runs pointing at one run's own directory lists that run under its name", async () => {
    const single = await buildServer({ routes: [runsRoutes({ dir: join(runsDir, 'ae') })] });
    try {
      const body = (await single.inject({ url: '/api/runs' })).json() as { runs: Detail[] };
      assert.deepEqual(body.runs.map((r) => [r.id, r.model, r.rows]), [['ae', 'autoencoder', 2]]);
      assert.equal((await single.inject({ url: '/api/runs/ae/images/reconstructions.png' })).statusCode, 200);
      assert.equal((await single.inject({ url: '/api/runs/ae/images/linked.png' })).statusCode, 404);
    } finally {
      await single.close();
    }
  });

  test('a quiet events stream sends comment lines, so idle socket timeouts do not end it', async () => {
    const server = await buildServer({ routes: [runsRoutes({ dir: runsDir, pollMs: 20, heartbeatMs: 100 })] });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/api/runs/ae/events`);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while ((text.match(/^: keep-alive$/gm) ?? []).length < 2) text += (await reader.read()).value;
      // The run's events come first and only once: nothing changed since.
      assert.deepEqual([...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]), ['rows', 'run']);
      await reader.cancel();
    } finally {
      await server.close();
    }
  });

  test('without --runs the list is empty and a run is a 404 that names the flag', async () => {
    const bare = await buildServer({ routes: [runsRoutes({})] });
    try {
      const list = await bare.inject({ url: '/api/runs' });
      assert.deepEqual(list.json(), { dir: null, runs: [] });
      const one = await bare.inject({ url: '/api/runs/ae' });
      assert.equal(one.statusCode, 404);
      assert.match((one.json() as { error: { message: string } }).error.message, /--runs DIR/);
    } finally {
      await bare.close();
    }
  });
});

test('parseLossCsv: blank and non-numeric cells are left out of their row', () => {
  assert.deepEqual(parseLossCsv('epoch,loss,val_loss\n1,0.5,\n2,0.4,0.45\n3,NaN,x\n'), {
    columns: ['epoch', 'loss', 'val_loss'],
    rows: [{ epoch: 1, loss: 0.5 }, { epoch: 2, loss: 0.4, val_loss: 0.45 }, { epoch: 3 }],
  });
  assert.deepEqual(parseLossCsv(''), { columns: [], rows: [] });
});
