import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { forja, lastJsonLine } from '../../../helpers/forja-cli.js';
import { wavBytes } from '../../../helpers/wav.js';
import { hasEspeak, speak, whisperModelDir } from '../../../helpers/whisper.js';

const SRT_CUE = /^(\d+)\n(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})\n\S.*$/s;
const seconds = (h: string, m: string, s: string, ms: string): number => +h * 3600 + +m * 60 + +s + +ms / 1000;

describe('forja transcribe', () => {
  let model: string;
  let work: string;
  let speech: string;

  before(() => {
    model = whisperModelDir();
    work = mkdtempSync(join(tmpdir(), 'forja-cli-transcribe-'));
    const tone = Array.from({ length: 22050 * 2 }, (_, i) => Math.round(8000 * Math.sin(i / 7)));
    speech = join(work, 'tone.wav');
    writeFileSync(speech, wavBytes(1, 22050, '16', tone));
  });
  after(() => {
    rmSync(model, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('real speech (espeak-ng, English and Spanish) → SRT files with numbered, ordered cues inside each recording', { skip: hasEspeak() ? false : 'espeak-ng is not installed (apt-get install espeak-ng; .ci/run does)' }, async () => {
    const en = speak('Forja transcribes speech in Node without Python.', 'en', join(work, 'en.wav'));
    const es = speak('Buenos días, esto es una prueba de reconocimiento de voz.', 'es', join(work, 'es.wav'));
    const out = join(work, 'srt');
    const run = await forja(['transcribe', en, es, '--model', model, '--format', 'srt', '--out', out, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = lastJsonLine(run.stdout) as { files: { file: string; output: string; duration: number; language: string; segments: { start: number; end: number; text: string }[] }[]; realTimeFactor: number };
    assert.equal(summary.files.length, 2);
    assert.ok(summary.realTimeFactor > 0);
    for (const f of summary.files) {
      assert.ok(f.duration > 1 && f.duration < 10, `${f.file}: ${f.duration} s`);
      const cues = readFileSync(f.output, 'utf8').trim().split('\n\n');
      assert.equal(cues.length, f.segments.filter((seg) => seg.text.trim()).length, `${f.output}: one cue per spoken segment`);
      let previous = 0;
      cues.forEach((cue, i) => {
        const m = SRT_CUE.exec(cue);
        assert.ok(m, `cue ${i + 1} of ${f.output}: ${JSON.stringify(cue)}`);
        assert.equal(+m[1]!, i + 1);
        const [start, end] = [seconds(m[2]!, m[3]!, m[4]!, m[5]!), seconds(m[6]!, m[7]!, m[8]!, m[9]!)];
        assert.ok(start >= previous && start <= end && end <= f.duration + 0.001, `cue ${i + 1}: ${start} --> ${end} in ${f.duration} s`);
        previous = start;
      });
    }
  });

  it('prints VTT to stdout as windows are decoded, with --task translate and --language', async () => {
    const run = await forja(['transcribe', speech, '--model', model, '--format', 'vtt', '--task', 'translate', '--language', 'spanish']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^WEBVTT\n\n(\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n\S[^\n]*\n\n)+$/);
  });

  it('bad flags are usage errors (exit 2) before the model loads: --language xx, --format, a missing file', async () => {
    const lang = await forja(['transcribe', speech, '--model', model, '--language', 'xx']);
    assert.equal(lang.code, 2);
    assert.match(lang.stderr, /--language 'xx' is not a language Whisper knows; use a code such as en, es/);
    const format = await forja(['transcribe', speech, '--model', model, '--format', 'ass']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /--format must be one of txt, json, srt, vtt, got 'ass'/);
    const missing = await forja(['transcribe', join(work, 'nope.wav'), '--model', model]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /FILE '.*nope\.wav' does not exist/);
  });

  it('a WAV whose header claims more audio than the file holds is transcribed, with a warning naming the file', async () => {
    const bytes = readFileSync(speech);
    const lying = join(work, 'lying.wav');
    const copy = Uint8Array.from(bytes);
    new DataView(copy.buffer).setUint32(40, 10 * bytes.length, true);
    writeFileSync(lying, copy);
    const run = await forja(['transcribe', lying, '--model', model, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /forja: warning: .*lying\.wav: the header declares \d+ bytes of audio but the file holds \d+ after byte 44/);
    const summary = lastJsonLine(run.stdout) as { files: { duration: number }[] };
    assert.ok(Math.abs(summary.files[0]!.duration - 2) < 1e-3, 'the 2 s that are there were read');
  });

  it('bad audio fails (exit 1) with a message naming the file: a truncated WAV, 0-length audio, a codec without ffmpeg', async () => {
    const truncated = join(work, 'truncated.wav');
    writeFileSync(truncated, readFileSync(speech).subarray(0, 40));
    const empty = join(work, 'empty.wav');
    writeFileSync(empty, wavBytes(1, 16000, '16', []));
    const mp3 = join(work, 'talk.mp3');
    writeFileSync(mp3, Uint8Array.of(0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0));
    const cases: [string, RegExp][] = [
      [truncated, /truncated\.wav: .*truncated/],
      [empty, /empty\.wav: the audio holds no samples \(0 s\)/],
      [mp3, /talk\.mp3: MP3 audio needs ffmpeg to decode, and no ffmpeg was found on the PATH/],
    ];
    for (const [file, message] of cases) {
      // PATH keeps node's own directory only: no ffmpeg there.
      const run = await forja(['transcribe', file, '--model', model], { PATH: join(process.execPath, '..') });
      assert.equal(run.code, 1, `${file}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /unexpected error|    at /, 'no stack trace');
    }
  });
});
