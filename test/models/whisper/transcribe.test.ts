import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EmptyAudioError } from '../../../src/audio/errors.js';
import { openAudio } from '../../../src/audio/source.js';
import { formatSubtitles } from '../../../src/audio/subtitles.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { UnknownLanguageError } from '../../../src/models/whisper/tokens.js';
import { WhisperTranscriber, type Transcript } from '../../../src/models/whisper/transcribe.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { hasEspeak, speak, whisperModelDir } from '../../helpers/whisper.js';

/** Segments in order, inside the audio (to one 16 kHz sample: resampling rounds the length), each with text from the tokenizer. */
function assertTimingStructure(t: Transcript, duration: number): void {
  const sample = 1 / 16000;
  assert.ok(t.segments.length > 0, 'at least one segment');
  let previousStart = 0;
  for (const [i, s] of t.segments.entries()) {
    assert.ok(s.start >= 0 && s.start <= s.end && s.end <= duration + sample, `segment ${i}: [${s.start}, ${s.end}] inside [0, ${duration}]`);
    assert.ok(s.start >= previousStart - 1e-9, `segment ${i} starts at ${s.start}, before segment ${i - 1}'s start ${previousStart}`);
    previousStart = s.start;
    assert.equal(s.text, s.tokens.map((id) => ` w${id}`).join(''), `segment ${i}'s text is its tokens decoded`);
  }
  assert.equal(t.text, t.segments.map((s) => s.text).join(''));
}

describe('models/whisper/transcribe', () => {
  let dir: string;
  let transcriber: WhisperTranscriber;
  let waveform: Float32Array;

  before(async () => {
    dir = whisperModelDir();
    transcriber = await WhisperTranscriber.load(dir);
    waveform = (await loadF32(fixturePath('whisper-tiny-random', 'golden.safetensors'))).get('waveform')!.data;
  });
  after(async () => {
    await transcriber.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forced prompts: <|startoftranscript|><|lang|><|task|>[<|notimestamps|>]', () => {
    const es = transcriber.tokens.languages.get('es')!;
    assert.deepEqual(transcriber.prompt(es, 'transcribe', false), [50258, 50262, 50359, 50363]);
    assert.deepEqual(transcriber.prompt(transcriber.tokens.languages.get('en'), 'translate', true), [50258, 50259, 50358]);
  });

  it("without timestamps, the fixture's waveform decodes to its greedy ids (generation_config's processors change nothing there)", async () => {
    const golden = JSON.parse(readFileSync(fixturePath('whisper-tiny-random', 'golden.json'), 'utf8')) as { greedy_ids: number[][] };
    const t = await transcriber.transcribe(waveform, { language: 'en', return_timestamps: false, max_new_tokens: 10 });
    assert.equal(t.segments.length, 1);
    assert.deepEqual([t.segments[0]!.start, t.segments[0]!.end], [0, 2.5]);
    // begin_suppress_tokens (220, 50256) are not the first argmax, so the ids are transformers' plain greedy ones.
    assert.deepEqual(t.segments[0]!.tokens, golden.greedy_ids[0]!.slice(4).filter((id) => id < 50257));
    assert.equal(t.language, 'en');
  });

  it('detects the language when none is given and reports it', async () => {
    const t = await transcriber.transcribe(waveform, { max_new_tokens: 5 });
    assert.ok(t.language !== undefined && transcriber.tokens.languages.has(t.language));
  });

  it('audio past 30 s is decoded window after window; a stream gives what the whole array gives', async () => {
    const long = new Float32Array(16000 * 75);
    for (let at = 0; at < long.length; at += waveform.length) long.set(waveform.subarray(0, Math.min(waveform.length, long.length - at)), at);
    const whole = await transcriber.transcribe(long, { language: 'en' });
    assertTimingStructure(whole, 75);
    assert.ok(whole.segments.some((s) => s.start >= 30), 'a later window was decoded');
    assert.equal(whole.duration, 75);
    async function* blocks(): AsyncGenerator<Float32Array> {
      for (let at = 0; at < long.length; at += 12345) yield long.subarray(at, at + 12345);
    }
    const stream = { info: { source: 'blocks', decoder: 'wav' as const, warnings: [] }, sampleRate: 16000, [Symbol.asyncIterator]: blocks };
    const streamed = await transcriber.transcribe(stream, { language: 'en' });
    assert.deepEqual(streamed.segments, whole.segments);
  });

  it('a 3-hour stream is pulled a window at a time: memory stays bounded by one window and one block', async () => {
    const total = 3 * 3600 * 16000;
    const block = 16000 * 7;
    let pulled = 0;
    const stop = new AbortController();
    async function* threeHours(): AsyncGenerator<Float32Array> {
      for (let at = 0; at < total; at += block) {
        pulled += block;
        // A safety stop, so a regression fails fast instead of decoding 3 hours.
        if (pulled > 10 * 480000) stop.abort(new Error('read ahead'));
        yield waveform.length >= block ? waveform.subarray(0, block) : new Float32Array(block).fill(0.01);
      }
    }
    const stream = { info: { source: '3h', decoder: 'wav' as const, warnings: [] }, sampleRate: 16000, [Symbol.asyncIterator]: threeHours };
    const windows: number[] = [];
    const run = transcriber.transcribe(stream, {
      language: 'en',
      max_new_tokens: 4,
      signal: stop.signal,
      onSegment: (s) => {
        windows.push(s.start);
        if (windows.length >= 3) stop.abort(new Error('enough'));
      },
    });
    await assert.rejects(run, /enough/);
    // Three windows decoded: at most four windows' worth (30 s each) plus one block was ever read of the 3 hours.
    assert.ok(pulled <= 4 * 480000 + block, `${pulled} samples pulled`);
  });

  it('beam search runs through the same processors', async () => {
    const t = await transcriber.transcribe(waveform, { language: 'es', num_beams: 3, max_new_tokens: 8 });
    assertTimingStructure(t, 2.5);
  });

  it('bad input: 0-length audio, an unknown language, a stream at the wrong rate', async () => {
    await assert.rejects(transcriber.transcribe(new Float32Array(0)), (e: unknown) => e instanceof EmptyAudioError && /no samples/.test(e.message));
    await assert.rejects(transcriber.transcribe(waveform, { language: 'xx' }), (e: unknown) => e instanceof UnknownLanguageError && /unknown language 'xx'.*known: en, zh, de, es/.test(e.message));
    const at8k = { info: { source: 's', decoder: 'wav' as const, warnings: [] }, sampleRate: 8000, [Symbol.asyncIterator]: async function* () {} };
    await assert.rejects(transcriber.transcribe(at8k), /the stream is at 8000 Hz; this model's features need 16000 Hz/);
  });

  it('an English-only model takes no language and no translation', async () => {
    const en = new WhisperTranscriber(transcriber.session, transcriber.features, { is_multilingual: false }, transcriber.tokenizer);
    await assert.rejects(en.transcribe(waveform, { language: 'es' }), /English-only Whisper model.*language 'es'/);
    assert.deepEqual(en.prompt(undefined, 'transcribe', false), [50258, 50363]);
  });

  it('real speech end to end: espeak-ng WAV (22.05 kHz) → resample → features → decode → SRT', { skip: hasEspeak() ? false : 'espeak-ng is not installed (apt-get install espeak-ng; .ci/run does)' }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'forja-espeak-'));
    try {
      for (const [voice, text] of [['en', 'The quick brown fox jumps over the lazy dog.'], ['es', 'El veloz murciélago hindú comía feliz cardillo y kiwi.']] as const) {
        const wav = speak(text, voice, join(work, `${voice}.wav`));
        const audio = await openAudio(wav);
        assert.equal(audio.info.fileSampleRate, 22050);
        const duration = audio.info.durationSeconds!;
        assert.ok(duration > 1 && duration < 10, `${voice}: ${duration} s of speech`);
        const t = await transcriber.transcribe(audio, { language: voice });
        assert.ok(Math.abs(t.duration - duration) < 1e-3, `${voice}: ${t.duration} s decoded of ${duration} s`);
        assertTimingStructure(t, duration);
        const srt = formatSubtitles(t.segments, 'srt');
        const cues = srt.trim().split('\n\n');
        assert.equal(cues.length, t.segments.filter((s) => s.text.trim()).length);
        cues.forEach((cue, i) => assert.match(cue, new RegExp(`^${i + 1}\\n\\d\\d:\\d\\d:\\d\\d,\\d{3} --> \\d\\d:\\d\\d:\\d\\d,\\d{3}\\n\\S`), `cue ${i + 1}`));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('downloads a Whisper checkpoint from the hub: weights, preprocessor_config.json and tokenizer.json', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const m = /^\/forja-test\/whisper-tiny\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
      const path = m ? join(dir, m[1]!) : undefined;
      if (!path || !existsSync(path) || statSync(path).isDirectory()) return void res.writeHead(404).end();
      const body = readFileSync(path);
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const cacheDir = mkdtempSync(join(tmpdir(), 'forja-whisper-hub-'));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const hub = await WhisperTranscriber.load('forja-test/whisper-tiny', { endpoint, cacheDir, offline: false });
      try {
        for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json', 'tokenizer.json']) assert.ok(requests.some((r) => r.endsWith(`/${f}`)), `${f} fetched`);
        assert.ok(hub.tokenizer, 'the downloaded tokenizer is used');
        const a = await hub.transcribe(waveform, { language: 'en', max_new_tokens: 6 });
        const b = await transcriber.transcribe(waveform, { language: 'en', max_new_tokens: 6 });
        assert.deepEqual(a.segments, b.segments);
      } finally {
        await hub.release();
      }
      const offline = await WhisperTranscriber.load('forja-test/whisper-tiny', { cacheDir, offline: true });
      await offline.release();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
