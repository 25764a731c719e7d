/**
 * Where a range of a document's text may be cut, coarsest first: headings (by level), pages, paragraphs
 * (a blank line), sentences (Unicode's UAX #29 rules, through Intl.Segmenter), lines, words. A cut is
 * the offset at which a new piece starts; the whitespace before it stays with the previous piece. The
 * text right after a heading line is never a cut, so a heading is not a piece of its own.
 */
import type { Heading, PageSpan } from '../sources/types.js';

export type Boundary =
  | { kind: 'heading'; level: number }
  | { kind: 'page' }
  | { kind: 'paragraph' }
  | { kind: 'sentence' }
  | { kind: 'line' }
  | { kind: 'word' };

export interface Structure {
  text: string;
  headings: readonly Heading[];
  pages: readonly PageSpan[];
  /** Where the text after each heading line starts: never a cut, so a heading stays with what follows. */
  glued: ReadonlySet<number>;
}

export function structureOf(text: string, headings: readonly Heading[], pages: readonly PageSpan[]): Structure {
  const sorted = [...headings].sort((a, b) => a.start - b.start);
  return { text, headings: sorted, pages, glued: new Set(sorted.map((h) => skipSpace(text, h.end, text.length))) };
}

const PARAGRAPH = /\n[^\S\n]*\n\s*/g;
const LINE = /\n\s*/g;
const WORD = /\s+/g;
// UAX #29 ends a sentence at every paragraph separator; lines are cut at their own level instead.
const SEPARATORS = /[\n\r\u0085\u2028\u2029]/g;
const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });

const isSpace = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c < 128 ? c === 32 || (c >= 9 && c <= 13) : /\s/.test(text[i]!);
};

/** The first non-whitespace offset at or after `i` (or `end`). */
export function skipSpace(text: string, i: number, end: number): number {
  while (i < end && isSpace(text, i)) i++;
  return i;
}

/** `end` moved back over trailing whitespace, not before `start`. */
export function trimEnd(text: string, start: number, end: number): number {
  while (end > start && isSpace(text, end - 1)) end--;
  return end;
}

function afterMatches(text: string, start: number, end: number, re: RegExp): number[] {
  const cuts: number[] = [];
  re.lastIndex = start;
  for (let m = re.exec(text); m !== null && m.index < end; m = re.exec(text)) cuts.push(m.index + m[0].length);
  return cuts;
}

/** Sentence starts in [start, end), `start` included; the text after a heading line starts one too. */
export function sentenceStarts(doc: Structure, start: number, end: number): number[] {
  const flat = doc.text.slice(start, end).replace(SEPARATORS, ' ');
  const out: number[] = [];
  for (const s of sentences.segment(flat)) out.push(start + s.index);
  for (const g of doc.glued) if (g > start && g < end && !out.includes(g)) out.push(g);
  return out.sort((a, b) => a - b);
}

/** Whether `offset` lies inside a heading line, after its first character. */
export function insideHeading(doc: Structure, offset: number): boolean {
  return doc.headings.some((h) => h.start < offset && offset < h.end);
}

/** Word starts in [start, end), `start` included when it is not whitespace. */
export function wordStarts(text: string, start: number, end: number): number[] {
  const out = afterMatches(text, start, end, WORD);
  if (!isSpace(text, start)) out.unshift(start);
  return out;
}

function rawCuts(doc: Structure, b: Boundary, start: number, end: number): number[] {
  switch (b.kind) {
    case 'heading':
      return doc.headings.filter((h) => h.level <= b.level && h.start > start && h.start < end).map((h) => h.start);
    case 'page':
      return doc.pages.filter((p) => p.start > start && p.start < end).map((p) => p.start);
    case 'paragraph':
      return afterMatches(doc.text, start, end, PARAGRAPH);
    case 'sentence':
      return sentenceStarts(doc, start, end).slice(1);
    case 'line':
      return afterMatches(doc.text, start, end, LINE);
    case 'word':
      return afterMatches(doc.text, start, end, WORD);
  }
}

/**
 * The pieces of the trimmed range [start, end) at boundary `b`, each trimmed: [start, end) pairs, in
 * order, without empty ones. One piece means `b` does not cut the range.
 */
export function pieces(doc: Structure, b: Boundary, start: number, end: number): [number, number][] {
  const out: [number, number][] = [];
  let from = start;
  for (const raw of rawCuts(doc, b, start, end)) {
    const cut = skipSpace(doc.text, raw, end);
    if (cut <= from || cut >= end || doc.glued.has(cut)) continue;
    const to = trimEnd(doc.text, from, cut);
    if (to > from) out.push([from, to]);
    from = cut;
  }
  out.push([from, end]);
  return out;
}
