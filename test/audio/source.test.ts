import assert from 'node:assert/strict';
import { chmodSync, closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AudioFormatError, EmptyAudioError, FfmpegError, FfmpegMissingError } from '../../src/audio/errors.js';
import { downmix, openAudio, readAudio } from '../../src/audio/source.js';
import { wavBytes } from '../helpers/wav.js';

/** A WAV header for `frames` 16-bit mono frames, the data left for the caller (or the file system) to fill. */
function pcm16Header(rate: number, frames: number): Uint8Array {
  const h = new DataView(new ArrayBuffer(44));
  const tag = (at: number, s: string) => [...s].forEach((c, i) => h.setUint8(at + i, c.charCodeAt(0)));
  const bytes = frames * 2;
  tag(0, 'RIFF');
  h.setUint32(4, 36 + bytes, true);
  tag(8, 'WAVE');
  tag(12, 'fmt ');
  h.setUint32(16, 16, true);
  h.setUint16(20, 1, true);
  h.setUint16(22, 1, true);
  h.setUint32(24, rate, true);
  h.setUint32(28, rate * 2, true);
  h.setUint16(32, 2, true);
  h.setUint16(34, 16, true);
  tag(36, 'data');
  h.setUint32(40, bytes, true);
  return new Uint8Array(h.buffer);
}

const tone = (rate: number, f: number, seconds: number, amplitude = 0.5): number[] =>
  Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.round(32767 * amplitude * Math.sin((2 * Math.PI * f * i) / rate)));

describe('audio/source', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'forja-audio-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a stereo 44.1 kHz WAV comes out mono at 16 kHz: channels averaged, length rate-converted', async () => {
    const left = tone(44100, 440, 1, 0.6);
    const right = tone(44100, 440, 1, 0.2);
    const path = join(dir, 'stereo.wav');
    writeFileSync(path, wavBytes(2, 44100, '16', left.flatMap((l, i) => [l, right[i]!])));
    const { samples, sampleRate, info } = await readAudio(path);
    assert.deepEqual([sampleRate, info.fileSampleRate, info.channels, info.decoder], [16000, 44100, 2, 'wav']);
    assert.equal(samples.length, 16000);
    // Mean of 0.6 and 0.2 amplitude: a 0.4 tone.
    let peak = 0;
    for (let i = 1000; i < 15000; i++) peak = Math.max(peak, Math.abs(samples[i]!));
    assert.ok(Math.abs(peak - 0.4) < 0.002, `peak ${peak}`);
    assert.deepEqual(Array.from(downmix(Float32Array.of(1, 0, 0.5, 0.5), 2)), [0.5, 0.5]);
  });

  it('a 16 kHz file is passed through sample for sample, in blocks of the asked size', async () => {
    const values = tone(16000, 1000, 0.5);
    const path = join(dir, 'mono16k.wav');
    writeFileSync(path, wavBytes(1, 16000, '16', values));
    const stream = await openAudio(path, { blockFrames: 1000 });
    const sizes: number[] = [];
    const got: number[] = [];
    for await (const block of stream) {
      sizes.push(block.length);
      got.push(...block);
    }
    assert.deepEqual(sizes, [...new Array<number>(8).fill(1000)]);
    assert.deepEqual(got, values.map((v) => Math.fround(v / 32768) + 0));
  });

  it('bad input: truncated header, truncated samples, lying header, 0-length audio', async () => {
    const good = wavBytes(1, 16000, '16', tone(16000, 300, 0.1));
    const cut = join(dir, 'cut-header.wav');
    writeFileSync(cut, good.subarray(0, 30));
    await assert.rejects(openAudio(cut), (e: unknown) => e instanceof AudioFormatError && e.source === cut && /truncated/.test(e.message));
    const cutSamples = join(dir, 'cut-samples.wav');
    writeFileSync(cutSamples, good.subarray(0, 44 + 1000));
    const partial = await readAudio(cutSamples);
    assert.equal(partial.samples.length, 500);
    assert.match(partial.info.warnings.join(), /declares 3200 bytes of audio but the file holds 1000/);
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, wavBytes(1, 16000, '16', []));
    await assert.rejects(openAudio(empty), (e: unknown) => e instanceof EmptyAudioError && e.source === empty);
    const zero = join(dir, 'zero-bytes.wav');
    writeFileSync(zero, new Uint8Array(0));
    await assert.rejects(openAudio(zero), EmptyAudioError);
  });

  it('an unsupported codec without ffmpeg says what the file is and that ffmpeg is missing', async () => {
    const mp3 = join(dir, 'song.mp3');
    writeFileSync(mp3, Uint8Array.of(0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4));
    const adpcm = join(dir, 'adpcm.wav');
    const bytes = wavBytes(1, 16000, '16', [1, 2, 3, 4]);
    new DataView(bytes.buffer).setUint16(20, 0x11, true);
    writeFileSync(adpcm, bytes);
    const noFfmpeg = mkdtempSync(join(dir, 'path-'));
    for (const [file, format] of [[mp3, 'MP3 audio'], [adpcm, 'IMA ADPCM inside WAV (format 0x0011)']] as const) {
      const stream = await openAudio(file, { ffmpeg: join(noFfmpeg, 'ffmpeg') });
      await assert.rejects(readAllOf(stream), (e: unknown) => e instanceof FfmpegMissingError && e.format === format && e.message.includes('no ffmpeg was found on the PATH'));
    }
  });

  it('other formats are read from ffmpeg as streamed float32 (a stand-in ffmpeg checks the arguments)', async () => {
    const fake = join(dir, 'ffmpeg');
    // Writes 3 float32 samples (0.5, -0.25, 1) if asked for mono f32le at 16 kHz on stdout, else fails like ffmpeg.
    writeFileSync(fake, `#!/bin/sh\ncase "$*" in *"-ac 1 -ar 16000 -f f32le"*"pipe:1"*) printf '\\000\\000\\000\\077\\000\\000\\200\\276\\000\\000\\200\\077';; *) echo "bad args: $*" >&2; exit 1;; esac\n`);
    chmodSync(fake, 0o755);
    const ogg = join(dir, 'voice.ogg');
    writeFileSync(ogg, 'OggS....');
    const { samples, info } = await readAudio(ogg, { ffmpeg: fake });
    assert.equal(info.decoder, 'ffmpeg');
    assert.deepEqual(Array.from(samples), [0.5, -0.25, 1]);
    const failing = join(dir, 'ffmpeg-fails');
    writeFileSync(failing, '#!/bin/sh\necho "voice.ogg: Invalid data found when processing input" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    await assert.rejects(readAudio(ogg, { ffmpeg: failing }), (e: unknown) => e instanceof FfmpegError && /Invalid data found/.test(e.message));
    const silent = join(dir, 'ffmpeg-silent');
    writeFileSync(silent, '#!/bin/sh\nexit 0\n');
    chmodSync(silent, 0o755);
    await assert.rejects(readAudio(ogg, { ffmpeg: silent }), EmptyAudioError);
  });

  it('a 3-hour WAV streams in bounded memory', async () => {
    const frames = 3 * 3600 * 16000;
    const path = join(dir, 'three-hours.wav');
    const fd = openSync(path, 'w');
    writeSync(fd, pcm16Header(16000, frames));
    ftruncateSync(fd, 44 + 2 * frames); // sparse: silence
    closeSync(fd);
    const stream = await openAudio(path);
    assert.equal(stream.info.durationSeconds, 3 * 3600);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    let total = 0;
    let blocks = 0;
    for await (const block of stream) {
      total += block.length;
      if (++blocks % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.equal(total, frames);
    // The whole file as float32 would be 691 MB; one 2^18-frame block is 1 MB (+ its 0.5 MB read buffer).
    assert.ok(peak - before < 100e6, `RSS grew by ${((peak - before) / 1e6).toFixed(0)} MB`);
  });
});

async function readAllOf(stream: AsyncIterable<Float32Array>): Promise<number> {
  let n = 0;
  for await (const block of stream) n += block.length;
  return n;
}
