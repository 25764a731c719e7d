/**
 * Timed text as plain text, JSON, SubRip (SRT) and WebVTT. Cues are numbered from 1, times are
 * HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT), rounded to the millisecond; text is trimmed and a cue
 * never holds a blank line (it would end the cue in both formats).
 */

export interface TimedText {
  /** Seconds. */
  start: number;
  end: number;
  text: string;
}

export type SubtitleFormat = 'txt' | 'json' | 'srt' | 'vtt';
export const SUBTITLE_FORMATS: readonly SubtitleFormat[] = ['txt', 'json', 'srt', 'vtt'];

function clock(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

const cueText = (text: string): string =>
  text
    .trim()
    .replace(/-->/g, '->')
    .split(/\r?\n/)
    .filter((line) => line.trim().length > 0)
    .join('\n');

/** One SRT cue; `index` counts from 1. */
export function srtCue(segment: TimedText, index: number): string {
  return `${index}\n${clock(segment.start, ',')} --> ${clock(segment.end, ',')}\n${cueText(segment.text)}\n\n`;
}

export function vttCue(segment: TimedText): string {
  return `${clock(segment.start, '.')} --> ${clock(segment.end, '.')}\n${cueText(segment.text)}\n\n`;
}

export const VTT_HEADER = 'WEBVTT\n\n';

function checkSegments(segments: readonly TimedText[]): void {
  segments.forEach((s, i) => {
    if (!(Number.isFinite(s.start) && Number.isFinite(s.end) && s.start >= 0 && s.end >= s.start)) {
      throw new RangeError(`subtitles: segment ${i} runs from ${s.start} s to ${s.end} s; times must be finite, non-negative and not go backwards`);
    }
  });
}

/** The whole transcript in one format. txt is the text of every segment, one per line. */
export function formatSubtitles(segments: readonly TimedText[], format: SubtitleFormat): string {
  checkSegments(segments);
  const spoken = segments.filter((s) => cueText(s.text).length > 0);
  switch (format) {
    case 'txt':
      return spoken.map((s) => `${cueText(s.text)}\n`).join('');
    case 'json':
      return `${JSON.stringify({ text: segments.map((s) => s.text).join(''), segments: segments.map(({ start, end, text }) => ({ start, end, text })) }, null, 2)}\n`;
    case 'srt':
      return spoken.map((s, i) => srtCue(s, i + 1)).join('');
    case 'vtt':
      return VTT_HEADER + spoken.map(vttCue).join('');
    default:
      throw new RangeError(`subtitles: format '${String(format)}' is not one of ${SUBTITLE_FORMATS.join(', ')}`);
  }
}
