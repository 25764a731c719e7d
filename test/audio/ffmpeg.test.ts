import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'node:test';
import { describeFormat, findFfmpeg } from '../../src/audio/ffmpeg.js';

describe('audio/ffmpeg', () => {
  it('finds an executable ffmpeg on the PATH, in order, and nothing in an empty PATH', () => {
    const root = mkdtempSync(join(tmpdir(), 'forja-ffmpeg-'));
    try {
      writeFileSync(join(root, 'ffmpeg'), '#!/bin/sh\n'); // not executable: skipped
      const exe = join(root, 'bin');
      mkdirSync(exe);
      writeFileSync(join(exe, 'ffmpeg'), '#!/bin/sh\n');
      chmodSync(join(exe, 'ffmpeg'), 0o755);
      assert.equal(findFfmpeg([root, exe].join(delimiter)), join(exe, 'ffmpeg'));
      assert.equal(findFfmpeg(root), undefined);
      assert.equal(findFfmpeg(''), undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("names a file's format from its first bytes, else from its extension", () => {
    const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
    assert.equal(describeFormat(bytes('ID3\x04'), 'a.mp3'), 'MP3 audio');
    assert.equal(describeFormat(Uint8Array.of(0xff, 0xfb, 0x90), 'a'), 'MP3 audio');
    assert.equal(describeFormat(bytes('fLaC'), 'a'), 'FLAC audio');
    assert.equal(describeFormat(bytes('OggS'), 'a'), 'Ogg audio');
    assert.equal(describeFormat(bytes('\0\0\0\x20ftypM4A '), 'a'), 'MP4/M4A audio');
    assert.equal(describeFormat(bytes('hello'), 'notes.aiff'), 'a .aiff file (not WAV)');
    assert.equal(describeFormat(bytes('hello'), 'noext'), 'a file that is not WAV');
  });
});
