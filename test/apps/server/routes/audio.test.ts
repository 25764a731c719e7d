/**
 * POST /v1/audio/transcriptions against a real server on port 0 through the openai client: whisper-tiny-random
 * (with a whisper-shaped tokenizer, test/helpers/whisper.ts) gives what WhisperTranscriber gives for the same
 * samples, in every response format; bad uploads are 400s naming the upload, big ones 413, temp files go away.
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI, { toFile } from 'openai';
import { buildServer } from '../../../../src/apps/server/app.js';
import { loadTranscriber, mediaRoutes, MediaModels, type ServedTranscriber } from '../../../../src/apps/server/media-models.js';
import { transcriptionFields } from '../../../../src/apps/server/routes/audio.js';
import { formatSubtitles } from '../../../../src/audio/subtitles.js';
import { loadF32 } from '../../../../src/io/safetensors.js';
import type { Transcript } from '../../../../src/models/whisper/transcribe.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { wavBytes } from '../../../helpers/wav.js';
import { whisperModelDir } from '../../../helpers/whisper.js';

const uploads = () => readdirSync(tmpdir()).filter((f) => f.startsWith('forja-upload-'));

describe('transcription form fields', () => {
  test('defaults, and the refusals OpenAI makes', () => {
    assert.deepEqual(transcriptionFields({ model: 'w' }), { model: 'w', responseFormat: 'json', temperature: 0 });
    assert.deepEqual(transcriptionFields({ model: 'w', language: 'es', response_format: 'srt', temperature: '0.4' }), { model: 'w', language: 'es', responseFormat: 'srt', temperature: 0.4 });
    assert.throws(() => transcriptionFields({}), /Missing required parameter: 'model'/);
    assert.throws(() => transcriptionFields({ model: 'w', response_format: 'xml' }), /must be one of json, text, srt, vtt, verbose_json, got 'xml'/);
    assert.throws(() => transcriptionFields({ model: 'w', temperature: 'hot' }), /'temperature': must be a number from 0 to 1, got 'hot'/);
    assert.throws(() => transcriptionFields({ model: 'w', colour: 'red' }), /Unrecognized request argument supplied: colour/);
    assert.throws(() => transcriptionFields({ model: 'w', 'timestamp_granularities[]': 'word' }), /'timestamp_granularities' word is not supported/);
  });
});

describe('POST /v1/audio/transcriptions on a real server', () => {
  let dir: string;
  let app: FastifyInstance;
  let client: OpenAI;
  let baseURL: string;
  let served: ServedTranscriber;
  let wav: Uint8Array;
  let direct: Transcript;
  const LIMIT = 256 * 1024;

  before(async () => {
    dir = whisperModelDir();
    served = await loadTranscriber(dir);
    const waveform = (await loadF32(fixturePath('whisper-tiny-random', 'golden.safetensors'))).get('waveform')!.data;
    wav = wavBytes(1, 16000, '32f', Array.from(waveform));
    direct = await served.transcriber.transcribe(waveform, { language: 'en' });
    app = await buildServer({ routes: [mediaRoutes(MediaModels.of({ transcribers: [served] }), { audio: { fileSizeLimit: LIMIT } })] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
    client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await app?.close();
    await served?.transcriber.release();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (bytes: Uint8Array = wav, name = 'speech.wav') => toFile(Buffer.from(bytes), name, { type: 'audio/wav' });

  test('json (the default): the text WhisperTranscriber decodes from the same samples', async () => {
    assert.ok(direct.text.length > 0, 'the tokenizer gives the random model words');
    const r = await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en' });
    assert.deepEqual(r, { text: direct.text });
  });

  test('verbose_json: language, duration and the segments with their times and tokens', async () => {
    const r = (await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en', response_format: 'verbose_json' })) as unknown as Record<string, unknown>;
    assert.equal(r.task, 'transcribe');
    assert.equal(r.language, 'english');
    assert.equal(r.duration, 2.5);
    assert.equal(r.text, direct.text);
    assert.deepEqual(r.segments, direct.segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text, tokens: s.tokens, temperature: 0 })));
  });

  test('text, srt and vtt are plain text: the transcript and its subtitles', async () => {
    const text = await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en', response_format: 'text' });
    assert.equal(text, `${direct.text}\n`);
    for (const format of ['srt', 'vtt'] as const) {
      const r = await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en', response_format: format });
      assert.equal(r, formatSubtitles(direct.segments, format), format);
    }
  });

  test('language detection when none is given; temperature samples (seeded by nothing, so only the shape is checked)', async () => {
    const detected = (await client.audio.transcriptions.create({ file: await file(), model: served.id, response_format: 'verbose_json' })) as unknown as { language: string; segments: unknown[] };
    assert.equal(typeof detected.language, 'string');
    assert.ok(detected.segments.length > 0);
    const warm = (await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en', temperature: 0.7, response_format: 'verbose_json' })) as unknown as { segments: { temperature: number }[] };
    assert.ok(warm.segments.every((s) => s.temperature === 0.7));
  });

  test('bad uploads are 400s naming the upload (never the temp file), a big one is 413; the temp files are gone and the server keeps serving', async () => {
    const post = async (form: FormData) => {
      const res = await fetch(`${baseURL}/audio/transcriptions`, { method: 'POST', body: form });
      return { status: res.status, error: ((await res.json()) as { error: { message: string; param: string | null } }).error };
    };
    const form = (bytes: Uint8Array | undefined, fields: Record<string, string> = { model: served.id }, name = 'speech.wav') => {
      const f = new FormData();
      if (bytes) f.append('file', new Blob([Buffer.from(bytes)]), name);
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      return f;
    };
    const cases: [FormData, number, string | null, RegExp][] = [
      [form(wav.subarray(0, 30)), 400, 'file', /^speech\.wav: the WAV header cannot be read .*truncated/],
      [form(new Uint8Array(0), undefined, 'empty.wav'), 400, 'file', /^empty\.wav: the audio holds no samples/],
      [form(Buffer.from('not audio at all, just some words'), undefined, 'notes.txt'), 400, 'file', /^notes\.txt: /],
      [form(undefined), 400, 'file', /Missing required parameter: 'file'/],
      [form(wav, { model: 'whisper-1' }), 404, 'model', /The model `whisper-1` does not exist; models that transcribe audio: forja-whisper-/],
      [form(wav, { model: served.id, language: 'klingon' }), 400, 'language', /not one Whisper knows/],
      [form(wav, { model: served.id, response_format: 'xml' }), 400, 'response_format', /must be one of/],
      [form(new Uint8Array(LIMIT + 10)), 413, null, /./],
    ];
    for (const [body, status, param, message] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, r.error.message);
      assert.equal(r.error.param, param, r.error.message);
      assert.match(r.error.message, message);
      assert.doesNotMatch(r.error.message, /forja-upload-|\/tmp\//);
      assert.deepEqual(uploads(), [], `upload directory deleted after: ${r.error.message}`);
    }
    const json = await fetch(`${baseURL}/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: served.id }) });
    assert.equal(json.status, 415);
    assert.deepEqual(uploads(), [], 'every upload directory deleted');
    const ok = await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en' });
    assert.equal(ok.text, direct.text);
    assert.deepEqual(uploads(), []);
  });

  test('a client that goes away mid-transcription: the upload is still deleted and the server keeps serving', async () => {
    const long = wavBytes(1, 16000, '32f', Array.from({ length: 16000 * 20 }, (_, i) => 0.3 * Math.sin(i / 7)));
    const f = new FormData();
    f.append('file', new Blob([Buffer.from(long)]), 'long.wav');
    f.append('model', served.id);
    f.append('language', 'en');
    const stop = new AbortController();
    const pending = fetch(`${baseURL}/audio/transcriptions`, { method: 'POST', body: f, signal: stop.signal });
    // The answer is sent only after its upload is deleted, so aborting while the upload exists always beats it.
    for (let i = 0; uploads().length === 0; i++) {
      if (i > 5000) assert.fail('the upload directory never appeared');
      await new Promise((r) => setTimeout(r, 2));
    }
    stop.abort();
    await assert.rejects(pending, /abort/i);
    for (let i = 0; i < 100 && uploads().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(uploads(), []);
    const ok = await client.audio.transcriptions.create({ file: await file(), model: served.id, language: 'en' });
    assert.equal(ok.text, direct.text);
  });

  test('a WAV shorter than its header says is read as far as it goes, and verbose_json says so', async () => {
    const short = wav.subarray(0, 44 + 4 * 16000);
    const r = (await client.audio.transcriptions.create({ file: await file(short, 'cut.wav'), model: served.id, language: 'en', response_format: 'verbose_json' })) as unknown as { duration: number; warnings: string[] };
    assert.equal(r.duration, 1);
    assert.match(r.warnings[0]!, /the header declares \d+ bytes of audio but the file holds 64000/);
  });
});
