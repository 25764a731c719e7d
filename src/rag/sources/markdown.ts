/**
 * Markdown headings, as CommonMark reads them: ATX (`## Title`, up to three spaces before, an optional
 * closing run of `#`) and setext (a paragraph underlined by `===` or `---`). Lines inside fenced code
 * blocks and a leading YAML front matter are not headings.
 */
import type { Heading } from './types.js';

const ATX = /^( {0,3})(#{1,6})(?=[ \t]|$)(.*)$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
// Lines that start a block of their own, so an underline below them is not a setext heading.
const BLOCK_START = /^ {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>)/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const INDENTED = /^(?: {4}|\t)/;

interface Line {
  start: number;
  /** Without the line break (and a CR before it). */
  text: string;
}

function lines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    const end = nl > start && text[nl - 1] === '\r' ? nl - 1 : nl;
    out.push({ start, text: text.slice(start, end) });
    start = nl + 1;
  }
  return out;
}

const isBlank = (s: string): boolean => s.trim().length === 0;
const leading = (s: string): number => s.length - s.trimStart().length;

function atxTitle(rest: string): string {
  // The closing sequence needs a space before it (`# C#` keeps its `#`).
  return rest.replace(/(?:^|[ \t]+)#+[ \t]*$/, '').trim();
}

/** The headings of a Markdown text, ascending by start. */
export function markdownHeadings(text: string): Heading[] {
  const all = lines(text);
  const headings: Heading[] = [];
  let i = 0;
  if (all[0]?.text.trimEnd() === '---') {
    // YAML front matter ends at the next `---` or `...`; without one it is not front matter.
    const close = all.findIndex((l, j) => j > 0 && /^(---|\.\.\.)\s*$/.test(l.text));
    if (close > 0) i = close + 1;
  }
  let fence: string | undefined;
  let paragraph: number | undefined; // index of the first line of the open paragraph
  for (; i < all.length; i++) {
    const line = all[i]!;
    const t = line.text;
    if (fence !== undefined) {
      const m = FENCE.exec(t);
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && isBlank(t.slice(m[0].length))) fence = undefined;
      continue;
    }
    const f = FENCE.exec(t);
    if (f) {
      fence = f[1]!;
      paragraph = undefined;
      continue;
    }
    if (isBlank(t)) {
      paragraph = undefined;
      continue;
    }
    const atx = ATX.exec(t);
    if (atx) {
      const start = line.start + atx[1]!.length;
      headings.push({ level: atx[2]!.length, title: atxTitle(atx[3]!), start, end: line.start + t.trimEnd().length });
      paragraph = undefined;
      continue;
    }
    const setext = SETEXT.exec(t);
    if (setext && paragraph !== undefined) {
      const first = all[paragraph]!;
      const title = all
        .slice(paragraph, i)
        .map((l) => l.text.trim())
        .join(' ');
      headings.push({ level: setext[1]![0] === '=' ? 1 : 2, title, start: first.start + leading(first.text), end: line.start + t.trimEnd().length });
      paragraph = undefined;
      continue;
    }
    if (THEMATIC_BREAK.test(t)) {
      paragraph = undefined;
      continue;
    }
    // A list item or quote interrupts a paragraph; an indented line continues one.
    if (BLOCK_START.test(t)) paragraph = undefined;
    else if (paragraph === undefined && !INDENTED.test(t)) paragraph = i;
  }
  return headings;
}

/** The title a document's headings give it: its first level-1 heading, else its first heading. */
export function titleOf(headings: readonly Heading[]): string | undefined {
  const h = headings.find((x) => x.level === 1) ?? headings[0];
  return h && h.title.length > 0 ? h.title : undefined;
}
