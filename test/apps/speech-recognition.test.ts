import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pipeline } from '../../src/apps/pipeline.js';
import type { SpeechRecognitionPipeline } from '../../src/apps/speech-recognition.js';
import { resample } from '../../src/audio/resample.js';
import { loadF32 } from '../../src/io/safetensors.js';
import { fixturePath } from '../helpers/fixtures.js';
import { wavBytes } from '../helpers/wav.js';
import { whisperModelDir } from '../helpers/whisper.js';

describe("pipeline('automatic-speech-recognition')", () => {
  let dir: string;
  let asr: SpeechRecognitionPipeline;
  let waveform: Float32Array;

  before(async () => {
    dir = whisperModelDir();
    asr = await pipeline('automatic-speech-recognition', dir, { progress_callback: () => undefined });
    waveform = (await loadF32(fixturePath('whisper-tiny-random', 'golden.safetensors'))).get('waveform')!.data;
  });
  after(async () => {
    await asr.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns transformers.js' { text, chunks: [{ timestamp: [start, end], text }] }", async () => {
    const out = await asr(waveform, { language: 'en' });
    assert.deepEqual(Object.keys(out).sort(), ['chunks', 'text']);
    const full = await asr.transcribe(waveform, { language: 'en' });
    assert.deepEqual(out.chunks, full.segments.map((s) => ({ timestamp: [s.start, s.end], text: s.text })));
    assert.equal(out.text, out.chunks.map((c) => c.text).join(''));
    assert.ok(out.chunks.length > 0 && out.chunks.every((c) => c.timestamp[0] <= c.timestamp[1] && c.timestamp[1] <= 2.5));
  });

  it('takes a file path, { array, sampling_rate } (resampled) and lists of inputs', async () => {
    const wav = join(dir, 'speech.wav');
    writeFileSync(wav, wavBytes(1, 16000, '32f', Array.from(waveform)));
    const fromFile = await asr(wav, { language: 'en' });
    const fromArray = await asr(waveform, { language: 'en' });
    assert.deepEqual(fromFile, fromArray);
    const at8k = await resample(waveform, 16000, 8000);
    const resampled = await asr({ array: at8k, sampling_rate: 8000 }, { language: 'en', return_timestamps: false });
    assert.equal(resampled.chunks.length, 1);
    assert.deepEqual(resampled.chunks[0]!.timestamp, [0, 2.5]);
    const both = await asr([waveform, wav], { language: 'en' });
    assert.deepEqual(both, [fromArray, fromFile]);
  });

  it('refuses inputs it cannot read, naming what it takes', async () => {
    await assert.rejects(asr(42 as unknown as Float32Array), /input must be a file path, a Float32Array of 16 kHz samples, or \{ array, sampling_rate \}/);
    await assert.rejects(asr('https://example.com/a.wav'), /is a URL; download it first/);
  });
});
