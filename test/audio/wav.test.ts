import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AudioFormatError } from '../../src/audio/errors.js';
import { decodeSamples, parseWavHeader, type WavHeader } from '../../src/audio/wav.js';
import { wavBytes } from '../helpers/wav.js';

function header(bytes: Uint8Array, source = 'x.wav'): WavHeader {
  const h = parseWavHeader(bytes, bytes.length, source);
  assert.ok('sampleRate' in h, `expected a decodable header, got ${JSON.stringify(h)}`);
  return h;
}

const decodeAll = (bytes: Uint8Array): Float32Array => {
  const h = header(bytes);
  return decodeSamples(bytes.subarray(h.dataOffset, h.dataOffset + h.dataBytes), h);
};

describe('audio/wav', () => {
  it('decodes PCM 8/16/24/32-bit to [-1, 1) with soundfile scaling', () => {
    const cases: [string, number[], number][] = [
      ['8', [0, 64, 128, 255], 128],
      ['16', [-32768, -1, 0, 16384, 32767], 32768],
      ['24', [-8388608, -1, 0, 4194304, 8388607], 8388608],
      ['32', [-2147483648, -1, 0, 1073741824, 2147483647], 2147483648],
    ];
    for (const [depth, ints, scale] of cases) {
      const out = decodeAll(wavBytes(1, 16000, depth, ints));
      const expected = ints.map((v) => (depth === '8' ? (v - 128) / 128 : v / scale));
      assert.deepEqual(Array.from(out), expected.map(Math.fround), `${depth}-bit`);
      assert.equal(header(wavBytes(1, 16000, depth, ints)).encoding, { '8': 'uint8', '16': 'int16', '24': 'int24', '32': 'int32' }[depth]);
    }
  });

  it('decodes float 32 and 64', () => {
    const values = [-1, -0.25, 0, 0.5, 0.999];
    for (const depth of ['32f', '64']) {
      const out = decodeAll(wavBytes(1, 22050, depth, values));
      assert.deepEqual(Array.from(out), values.map(Math.fround), depth);
    }
  });

  it('reads rate, channels and frames; a stereo file stays interleaved', () => {
    const bytes = wavBytes(2, 44100, '16', [1000, -1000, 2000, -2000, 3000, -3000]);
    const h = header(bytes);
    assert.equal(h.sampleRate, 44100);
    assert.equal(h.channels, 2);
    assert.equal(h.frames, 3);
    assert.equal(h.blockAlign, 4);
    assert.deepEqual(Array.from(decodeAll(bytes)), [1000, -1000, 2000, -2000, 3000, -3000].map((v) => Math.fround(v / 32768)));
    assert.deepEqual(h.warnings, []);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE float by its subformat', () => {
    const bytes = wavBytes(1, 16000, '32f', [0.5, -0.5]);
    // Rewrite the fmt chunk as the 40-byte extensible form: cbSize 22, valid bits, mask, float GUID.
    const fmtStart = 12;
    const dataPart = bytes.subarray(fmtStart + 8 + 16);
    const ext = new Uint8Array(bytes.length + 24);
    ext.set(bytes.subarray(0, fmtStart + 8 + 16));
    ext.set(dataPart, fmtStart + 8 + 40);
    const v = new DataView(ext.buffer);
    v.setUint32(4, ext.length - 8, true);
    v.setUint32(fmtStart + 4, 40, true);
    v.setUint16(fmtStart + 8, 0xfffe, true);
    v.setUint16(fmtStart + 8 + 16, 22, true);
    v.setUint16(fmtStart + 8 + 18, 32, true);
    v.setUint32(fmtStart + 8 + 20, 4, true);
    v.setUint32(fmtStart + 8 + 24, 3, true); // GUID 00000003-0000-0010-8000-00aa00389b71
    assert.deepEqual(Array.from(decodeAll(ext)), [0.5, -0.5]);
  });

  it('reports a codec it does not decode instead of misreading it', () => {
    const bytes = wavBytes(1, 16000, '16', [1, 2, 3, 4]);
    new DataView(bytes.buffer).setUint16(20, 0x55, true); // MP3 in WAV
    assert.deepEqual(parseWavHeader(bytes, bytes.length, 'mp3.wav'), { codec: 'MP3 inside WAV (format 0x0055)' });
    new DataView(bytes.buffer).setUint16(20, 0x11, true);
    assert.deepEqual(parseWavHeader(bytes, bytes.length, 'adpcm.wav'), { codec: 'IMA ADPCM inside WAV (format 0x0011)' });
  });

  it('a WAV truncated inside its header is an AudioFormatError naming the file', () => {
    const bytes = wavBytes(1, 16000, '16', [1, 2, 3, 4]);
    for (const cut of [4, 11, 20, 36, 40]) {
      const part = bytes.subarray(0, cut);
      assert.throws(
        () => parseWavHeader(part, part.length, 'cut.wav'),
        (err: unknown) => err instanceof AudioFormatError && err.source === 'cut.wav' && /cut\.wav: .*(too short|truncated|cannot be read)/.test(err.message),
        `cut at ${cut}`,
      );
    }
  });

  it('a WAV truncated inside its samples reads what is there, with a warning', () => {
    const bytes = wavBytes(1, 16000, '16', [100, 200, 300, 400, 500]);
    const cut = bytes.subarray(0, bytes.length - 3); // two whole samples and a half
    const h = header(cut);
    assert.equal(h.frames, 3);
    assert.equal(h.warnings.length, 2);
    assert.match(h.warnings[0]!, /declares 10 bytes of audio but the file holds 7 after byte 44/);
    assert.match(h.warnings[1]!, /ends in a partial frame \(1 of 2 bytes\): dropped/);
    assert.deepEqual(Array.from(decodeSamples(cut.subarray(h.dataOffset, h.dataOffset + h.dataBytes), h)), [100, 200, 300].map((v) => Math.fround(v / 32768)));
  });

  it('a header that lies about its data size: too large is read to the end of the file; the streaming placeholder silently', () => {
    const bytes = wavBytes(1, 16000, '16', [1, 2, 3, 4]);
    const v = new DataView(bytes.buffer);
    v.setUint32(40, 1_000_000, true);
    const big = header(bytes);
    assert.equal(big.frames, 4);
    assert.match(big.warnings.join(), /declares 1000000 bytes of audio but the file holds 8/);
    v.setUint32(40, 0xffffffff, true);
    assert.equal(header(bytes).frames, 4);
    assert.deepEqual(header(bytes).warnings, []);
    v.setUint32(40, 0, true); // ffmpeg writing to a pipe leaves 0
    assert.equal(header(bytes).frames, 4);
  });

  it('a header whose data size is smaller than the samples reads only the declared ones', () => {
    const bytes = wavBytes(1, 16000, '16', [1, 2, 3, 4]);
    new DataView(bytes.buffer).setUint32(40, 4, true);
    assert.equal(header(bytes).frames, 2);
  });

  it('RF64: the data size comes from the ds64 chunk (low word first)', () => {
    const samples = [100, -200, 300];
    // 8 bytes of another chunk after the samples: only ds64's size keeps them out of the audio.
    const bytes = new Uint8Array(12 + 36 + 24 + 8 + 2 * samples.length + 8);
    const v = new DataView(bytes.buffer);
    const tag = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
    tag(0, 'RF64');
    v.setUint32(4, 0xffffffff, true);
    tag(8, 'WAVE');
    tag(12, 'ds64');
    v.setUint32(16, 28, true);
    v.setUint32(20, bytes.length - 8, true); // riffSizeLow
    v.setUint32(28, 2 * samples.length, true); // dataSizeLow
    v.setUint32(32, 0, true); // dataSizeHigh
    v.setUint32(36, samples.length, true); // sampleCountLow
    tag(48, 'fmt ');
    v.setUint32(52, 16, true);
    v.setUint16(56, 1, true);
    v.setUint16(58, 1, true);
    v.setUint32(60, 16000, true);
    v.setUint32(64, 32000, true);
    v.setUint16(68, 2, true);
    v.setUint16(70, 16, true);
    tag(72, 'data');
    v.setUint32(76, 0xffffffff, true);
    samples.forEach((x, i) => v.setInt16(80 + 2 * i, x, true));
    const h = header(bytes);
    assert.deepEqual([h.frames, h.dataOffset, h.warnings], [3, 80, []]);
    assert.deepEqual(Array.from(decodeSamples(bytes.subarray(80, 80 + h.dataBytes), h)), samples.map((x) => Math.fround(x / 32768)));
  });

  it('0-length audio has 0 frames; files that are not WAV are refused by name', () => {
    assert.equal(header(wavBytes(1, 16000, '16', [])).frames, 0);
    const text = new TextEncoder().encode('hello, this is not audio at all');
    assert.throws(() => parseWavHeader(text, text.length, 'notes.txt'), /notes\.txt: not a WAV file/);
  });
});
