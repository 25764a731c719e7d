/**
 * A token-aware recursive splitter. A range that fits is one chunk; one that does not is cut at the
 * coarsest boundary that cuts it (headings, pages, paragraphs, sentences, lines, words: ./boundaries.ts),
 * pieces that are still too big are cut further, and neighbouring pieces are merged back while they fit.
 * Chunks are filled to `chunkSize - overlap` tokens, and each chunk then takes whole sentences (or, if
 * not even one fits, whole words) from the end of the chunk before it, up to `overlap` tokens, never
 * across a heading. So every chunk is at most `chunkSize` tokens, unless it is a single word that is
 * bigger on its own.
 *
 * Offsets are exact: `text.slice(start, end)` is the chunk's text, which starts and ends with a
 * non-whitespace character. Without overlap the chunks are disjoint and, with the whitespace between
 * them, cover the text.
 */
import type { TokenCounter } from '../../text/embedder.js';
import type { Heading, PageSpan } from '../sources/types.js';
import { insideHeading, pieces, sentenceStarts, skipSpace, structureOf, trimEnd, wordStarts, type Boundary, type Structure } from './boundaries.js';
import { whitespaceCounter } from './counter.js';
import { checkChunkSettings } from './settings.js';
import type { ChunkSource } from '../store/types.js';

export const DEFAULT_CHUNK_SIZE = 256;
export const DEFAULT_OVERLAP = 32;

export interface ChunkOptions {
  /** Most tokens in a chunk; default 256. */
  chunkSize?: number;
  /** Most tokens a chunk repeats from the one before; default 32, less than chunkSize. */
  overlap?: number;
  /** Default: whitespace-separated words. */
  counter?: TokenCounter;
}

export interface ChunkableText {
  text: string;
  /** Ascending by start. */
  headings?: readonly Heading[];
  /** Ascending. */
  pages?: readonly PageSpan[];
}

export interface TextChunk extends ChunkSource {
  ordinal: number;
  text: string;
  tokens: number;
}

interface Piece {
  start: number;
  end: number;
  tokens: number;
}

class Splitter {
  private readonly levels: Boundary[];

  constructor(
    private readonly doc: Structure,
    private readonly budget: number,
    private readonly count: (start: number, end: number) => number,
  ) {
    const headingLevels = [...new Set(doc.headings.map((h) => h.level))].sort((a, b) => a - b);
    this.levels = [
      ...headingLevels.map((level): Boundary => ({ kind: 'heading', level })),
      ...(doc.pages.length > 1 ? [{ kind: 'page' } as const] : []),
      { kind: 'paragraph' },
      { kind: 'sentence' },
      { kind: 'line' },
      { kind: 'word' },
    ];
  }

  /** Pieces of the trimmed range, each within the budget unless it is one word. */
  split(start: number, end: number, tokens: number, level: number, out: Piece[]): void {
    if (tokens <= this.budget || level >= this.levels.length) {
      out.push({ start, end, tokens });
      return;
    }
    const parts = pieces(this.doc, this.levels[level]!, start, end);
    if (parts.length === 1) return this.split(start, end, tokens, level + 1, out);
    let group: Piece[] = [];
    let sum = 0;
    for (const [s, e] of parts) {
      const t = this.count(s, e);
      if (t > this.budget) {
        this.flush(group, out);
        group = [];
        sum = 0;
        this.split(s, e, t, level + 1, out);
        continue;
      }
      if (group.length > 0 && sum + t > this.budget) {
        this.flush(group, out);
        group = [];
        sum = 0;
      }
      group.push({ start: s, end: e, tokens: t });
      sum += t;
    }
    this.flush(group, out);
  }

  /**
   * The group as few merged pieces as fit. Token counts need not add up (a tokenizer may merge across
   * the join), so each merge is counted whole and shortened until it fits.
   */
  private flush(group: readonly Piece[], out: Piece[]): void {
    let i = 0;
    while (i < group.length) {
      let j = group.length - 1;
      let t = j === i ? group[i]!.tokens : this.count(group[i]!.start, group[j]!.end);
      while (t > this.budget && j > i) {
        j--;
        t = j === i ? group[i]!.tokens : this.count(group[i]!.start, group[j]!.end);
      }
      out.push({ start: group[i]!.start, end: group[j]!.end, tokens: t });
      i = j + 1;
    }
  }
}

/** The start of the heading section holding `offset` (0 before the first heading). */
function sectionStart(headings: readonly Heading[], offset: number): number {
  let s = 0;
  for (const h of headings) {
    if (h.start > offset) break;
    s = h.start;
  }
  return s;
}

/**
 * The headings above [start, end): those in force at `start` that no heading inside the range closes.
 * A range that opens with a heading line is that heading's, with the headings above it, even when it
 * runs on into the next section: its citation should name the section it begins.
 */
export function headingPath(headings: readonly Heading[], start: number, end: number): string[] {
  const stack: Heading[] = [];
  let inside = Infinity;
  for (const h of headings) {
    if (h.start <= start) {
      while (stack.length > 0 && stack[stack.length - 1]!.level >= h.level) stack.pop();
      stack.push(h);
    } else if (h.start < end) inside = Math.min(inside, h.level);
    else break;
  }
  if (stack.length > 0 && stack[stack.length - 1]!.start === start) return stack.map((h) => h.title);
  return stack.filter((h) => h.level < inside).map((h) => h.title);
}

/** The 1-based page holding `offset`, or undefined without a page map. */
export function pageAt(pages: readonly PageSpan[], offset: number): number | undefined {
  let lo = 0;
  let hi = pages.length - 1;
  let found: PageSpan | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pages[mid]!.start <= offset) {
      found = pages[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return (found ?? pages[0])?.page;
}

/**
 * Where chunk [start, end) of `tokens` begins once it takes the end of the text in [from, start): the
 * earliest sentence start (else word start) with at most `overlap` tokens from there to `start` and at
 * most `limit` tokens from there to `end`.
 */
function overlapStart(doc: Structure, count: (s: number, e: number) => number, from: number, piece: Piece, overlap: number, limit: number): number {
  const room = Math.min(overlap, limit - piece.tokens);
  if (room <= 0 || from >= piece.start) return piece.start;
  const fits = (candidates: readonly number[]): number | undefined => {
    const starts = candidates.map((c) => skipSpace(doc.text, c, piece.start)).filter((c) => c < piece.start && !insideHeading(doc, c));
    // Walk back from the nearest start while the overlap still fits the room.
    let k = starts.length;
    while (k > 0 && count(starts[k - 1]!, trimEnd(doc.text, starts[k - 1]!, piece.start)) <= room) k--;
    // Counts need not add up across the join: take the earliest start whose whole chunk fits.
    for (let i = k; i < starts.length; i++) if (count(starts[i]!, piece.end) <= limit) return starts[i];
    return undefined;
  };
  return fits(sentenceStarts(doc, from, piece.start)) ?? fits(wordStarts(doc.text, from, piece.start)) ?? piece.start;
}

/** The chunks of a document's text. */
export function chunkText(doc: ChunkableText, options: ChunkOptions = {}): TextChunk[] {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const overlap = options.overlap ?? DEFAULT_OVERLAP;
  checkChunkSettings(chunkSize, overlap);
  const counter = options.counter ?? whitespaceCounter;
  const structure = structureOf(doc.text, doc.headings ?? [], doc.pages ?? []);
  const { text, headings, pages } = structure;
  const count = (s: number, e: number): number => counter.countTokens(text.slice(s, e));

  const start = skipSpace(text, 0, text.length);
  const end = trimEnd(text, start, text.length);
  if (start >= end) return [];
  const base: Piece[] = [];
  new Splitter(structure, chunkSize - overlap, count).split(start, end, count(start, end), 0, base);

  return base.map((piece, i) => {
    let s = piece.start;
    if (i > 0 && overlap > 0) {
      const from = Math.max(base[i - 1]!.start, sectionStart(headings, piece.start));
      s = overlapStart(structure, count, from, piece, overlap, chunkSize);
    }
    const tokens = s === piece.start ? piece.tokens : count(s, piece.end);
    return { ordinal: i, start: s, end: piece.end, text: text.slice(s, piece.end), tokens, page: pageAt(pages, s), headings: headingPath(headings, s, piece.end) };
  });
}
