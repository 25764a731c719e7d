import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSubtitles, srtCue, vttCue, type TimedText } from '../../src/audio/subtitles.js';

const segments: TimedText[] = [
  { start: 0, end: 2.5, text: ' Hello there.' },
  { start: 2.5, end: 3661.0426, text: ' A long\n\nline --> here ' },
  { start: 3661.0426, end: 3662, text: '   ' },
];

describe('audio/subtitles', () => {
  it('SRT: numbered cues, HH:MM:SS,mmm, text trimmed, no blank line or arrow inside a cue, silent segments skipped', () => {
    assert.equal(
      formatSubtitles(segments, 'srt'),
      '1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,043\nA long\nline -> here\n\n',
    );
  });

  it('VTT: the WEBVTT header and HH:MM:SS.mmm', () => {
    assert.equal(formatSubtitles(segments.slice(0, 1), 'vtt'), 'WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n');
    assert.equal(vttCue({ start: 59.9996, end: 60, text: 'x' }), '00:01:00.000 --> 00:01:00.000\nx\n\n');
    assert.equal(srtCue({ start: 0.0004, end: 0.0006, text: 'y' }, 7), '7\n00:00:00,000 --> 00:00:00,001\ny\n\n');
  });

  it('txt is one line per spoken segment; json keeps every segment and the joined text', () => {
    assert.equal(formatSubtitles(segments, 'txt'), 'Hello there.\nA long\nline -> here\n');
    const json = JSON.parse(formatSubtitles(segments, 'json')) as { text: string; segments: TimedText[] };
    assert.equal(json.text, segments.map((s) => s.text).join(''));
    assert.deepEqual(json.segments, segments);
  });

  it('refuses times that are not finite, negative or backwards, naming the segment', () => {
    assert.throws(() => formatSubtitles([{ start: 2, end: 1, text: 'x' }], 'srt'), /segment 0 runs from 2 s to 1 s/);
    assert.throws(() => formatSubtitles([{ start: 0, end: 1, text: 'a' }, { start: Number.NaN, end: 1, text: 'x' }], 'vtt'), /segment 1 runs from NaN s/);
    assert.throws(() => formatSubtitles([], 'ass' as 'srt'), /format 'ass' is not one of txt, json, srt, vtt/);
  });
});
