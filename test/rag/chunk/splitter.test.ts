import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { countWords, whitespaceCounter } from '../../../src/rag/chunk/counter.js';
import { IngestSettingsError } from '../../../src/rag/chunk/settings.js';
import { chunkText, headingPath, pageAt, type TextChunk } from '../../../src/rag/chunk/splitter.js';
import { markdownHeadings } from '../../../src/rag/sources/markdown.js';
import type { Heading, PageSpan } from '../../../src/rag/sources/types.js';
import type { TokenCounter } from '../../../src/text/embedder.js';

// Counts whitespace runs that hold a line break as a token too, so a merge of trimmed pieces counts more
// than its parts, as subword tokenizers can.
const breaksCount: TokenCounter = { countTokens: (t) => countWords(t) + (t.match(/\s*\n\s*/g)?.length ?? 0) };

interface Generated {
  text: string;
  headings: Heading[];
  pages: PageSpan[];
}

function word(rng: Rng): string {
  const long = rng.next() < 0.01;
  const n = long ? 30 + rng.int(40) : 1 + rng.int(9);
  let w = '';
  for (let i = 0; i < n; i++) w += String.fromCharCode(97 + rng.int(26));
  return w;
}

function sentence(rng: Rng): string {
  const words = Array.from({ length: 1 + rng.int(18) }, () => word(rng));
  words[0] = words[0]![0]!.toUpperCase() + words[0]!.slice(1);
  return words.join(rng.next() < 0.05 ? '  ' : ' ') + (rng.next() < 0.8 ? '.' : rng.next() < 0.5 ? '?' : '');
}

/** A Markdown-like document with headings, paragraphs, list lines and, sometimes, a page map. */
function generate(rng: Rng): Generated {
  const blocks: string[] = [];
  if (rng.next() < 0.5) blocks.push(sentence(rng));
  const sections = rng.int(6);
  for (let s = 0; s < sections; s++) {
    blocks.push(`${'#'.repeat(1 + rng.int(3))} ${sentence(rng).replace(/[.?]$/, '')}`);
    for (let p = rng.int(4); p > 0; p--) {
      const kind = rng.next();
      if (kind < 0.2) blocks.push(Array.from({ length: 1 + rng.int(5) }, () => `- ${sentence(rng)}`).join('\n'));
      else blocks.push(Array.from({ length: 1 + rng.int(8) }, () => sentence(rng)).join(rng.next() < 0.3 ? '\n' : ' '));
    }
  }
  let text = (rng.next() < 0.3 ? '\n  ' : '') + blocks.join(rng.next() < 0.5 ? '\n\n' : '\n \n\n');
  text += rng.next() < 0.3 ? '\n\n' : '';
  const headings = markdownHeadings(text);
  const pages: PageSpan[] = [];
  if (rng.next() < 0.4 && text.length > 0) {
    let start = 0;
    for (let page = 1; start < text.length; page++) {
      const end = Math.min(text.length, start + 1 + rng.int(400));
      pages.push({ page, start, end });
      start = end;
    }
  }
  return { text, headings, pages };
}

/**
 * The headings whose section (up to the next heading of the same or a higher level) holds [start, end);
 * for a range that opens with a heading line, those whose section holds its start.
 */
function expectedHeadings(headings: readonly Heading[], start: number, end: number): string[] {
  const opensWithHeading = headings.some((h) => h.start === start);
  return headings
    .filter((h, i) => {
      const next = headings.slice(i + 1).find((n) => n.level <= h.level);
      if (h.start > start) return false;
      return opensWithHeading ? (next?.start ?? Infinity) > start : end <= (next?.start ?? Infinity);
    })
    .map((h) => h.title);
}

function checkChunks(doc: Generated, chunks: TextChunk[], chunkSize: number, overlap: number, counter: TokenCounter, where: string): void {
  const { text, headings, pages } = doc;
  const covered = new Uint8Array(text.length);
  chunks.forEach((c, i) => {
    const at = `${where}, chunk ${i}`;
    assert.equal(c.ordinal, i, at);
    assert.equal(text.slice(c.start, c.end), c.text, `${at}: offsets`);
    assert.ok(c.text.length > 0 && c.text.trim() === c.text, `${at}: trimmed and not empty`);
    assert.equal(c.tokens, counter.countTokens(c.text), `${at}: token count`);
    assert.ok(c.tokens <= chunkSize || !/\s/.test(c.text), `${at}: ${c.tokens} tokens > ${chunkSize} in ${JSON.stringify(c.text.slice(0, 80))}`);
    assert.deepEqual(c.headings, expectedHeadings(headings, c.start, c.end), `${at}: headings`);
    assert.equal(c.page, pages.length ? pages.find((p) => p.start <= c.start && c.start < p.end)!.page : undefined, `${at}: page`);
    covered.fill(1, c.start, c.end);
    if (i === 0) return;
    const prev = chunks[i - 1]!;
    assert.ok(c.start >= prev.start && c.end > prev.end, `${at}: in order`);
    if (overlap === 0) assert.ok(c.start >= prev.end, `${at}: disjoint without overlap`);
    if (c.start < prev.end) {
      const shared = text.slice(c.start, prev.end);
      assert.ok(counter.countTokens(shared) <= overlap, `${at}: overlap of ${counter.countTokens(shared)} tokens`);
      assert.ok(!headings.some((h) => h.start > c.start && h.start < prev.end), `${at}: overlap across a heading`);
    }
  });
  for (let i = 0; i < text.length; i++) if (!/\s/.test(text[i]!)) assert.equal(covered[i], 1, `${where}: offset ${i} (${JSON.stringify(text.slice(i, i + 20))}) in no chunk`);
}

test('property: chunks fit, offsets are exact, they cover the text, headings and pages are right', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 300; trial++) {
    const doc = generate(rng);
    const chunkSize = 4 + rng.int(80);
    const overlap = rng.next() < 0.3 ? 0 : rng.int(Math.min(chunkSize, 20));
    const counter = trial % 3 === 2 ? breaksCount : whitespaceCounter;
    const chunks = chunkText(doc, { chunkSize, overlap, counter });
    checkChunks(doc, chunks, chunkSize, overlap, counter, `trial ${trial} (size ${chunkSize}, overlap ${overlap})`);
  }
});

test('a document that fits is one chunk, trimmed; an empty one has none', () => {
  const text = '\n  # Title\n\nOne short paragraph.\n\n';
  const [only, ...rest] = chunkText({ text, headings: markdownHeadings(text) });
  assert.deepEqual(rest, []);
  assert.equal(only!.text, '# Title\n\nOne short paragraph.');
  assert.deepEqual(only!.headings, ['Title']);
  assert.deepEqual(chunkText({ text: ' \n\t ' }), []);
});

test('sections that fit are chunks of their own, cut at headings and never at a heading line', () => {
  const text = '# A\n\nAlpha one. Alpha two.\n\n## B\n\nBeta one. Beta two. Beta three.\n\n# C\n\nGamma.';
  const chunks = chunkText({ text, headings: markdownHeadings(text) }, { chunkSize: 8, overlap: 0 });
  assert.deepEqual(chunks.map((c) => [c.text, c.headings]), [
    ['# A\n\nAlpha one. Alpha two.', ['A']],
    ['## B\n\nBeta one. Beta two. Beta three.', ['A', 'B']],
    ['# C\n\nGamma.', ['C']],
  ]);
});

test('small neighbours merge up to the size; a merged chunk keeps only the headings above all of it', () => {
  const text = '# A\n\n## B\n\nb text.\n\n## C\n\nc text.';
  const chunks = chunkText({ text, headings: markdownHeadings(text) }, { chunkSize: 12, overlap: 0 });
  assert.deepEqual(chunks.map((c) => [c.text, c.headings]), [[text, ['A']]]);
});

test('a chunk that opens with a heading line is under that heading, even when it runs into the next section', () => {
  const text = '# A\n\nIntro text here.\n\n## B\n\nb text.\n\n## C\n\nc text.\n\n# D\n\nd.';
  const chunks = chunkText({ text, headings: markdownHeadings(text) }, { chunkSize: 8, overlap: 0 });
  assert.deepEqual(chunks.map((c) => [c.text, c.headings]), [
    ['# A\n\nIntro text here.', ['A']],
    ['## B\n\nb text.\n\n## C\n\nc text.', ['A', 'B']],
    ['# D\n\nd.', ['D']],
  ]);
});

test('a long paragraph is cut at sentence ends, and the overlap is whole sentences', () => {
  const sentences = Array.from({ length: 12 }, (_, i) => `Sentence ${i} has exactly six words.`);
  const text = sentences.join(' ');
  const chunks = chunkText({ text }, { chunkSize: 20, overlap: 7 });
  for (const c of chunks) {
    assert.match(c.text, /^Sentence \d+ .*words\.$/, 'starts and ends at sentence boundaries');
    assert.ok(c.tokens <= 20);
  }
  // 13 tokens of new text per chunk leave room for two sentences, then one is repeated (6 <= 7).
  assert.deepEqual(chunks.map((c) => c.text.match(/Sentence (\d+)/g)!.map((s) => Number(s.slice(9)))), [
    [0, 1],
    [1, 2, 3],
    [3, 4, 5],
    [5, 6, 7],
    [7, 8, 9],
    [9, 10, 11],
  ]);
});

test('a sentence longer than the overlap is overlapped by whole words', () => {
  const text = 'one two three four five six seven eight nine ten. eleven twelve thirteen fourteen.';
  const chunks = chunkText({ text }, { chunkSize: 8, overlap: 3 });
  assert.equal(chunks[1]!.text.split(' ').length, chunks[1]!.tokens);
  assert.ok(chunks[1]!.start < chunks[0]!.end);
  assert.equal(countWords(text.slice(chunks[1]!.start, chunks[0]!.end)), 3);
});

test('a word bigger than the size is a chunk of its own', () => {
  const text = 'short words then ' + 'x'.repeat(50) + ' more words';
  const counter: TokenCounter = { countTokens: (t) => Math.ceil(t.replace(/\s/g, '').length / 4) };
  const chunks = chunkText({ text }, { chunkSize: 5, overlap: 0, counter });
  assert.ok(chunks.some((c) => c.text === 'x'.repeat(50) && c.tokens === 13));
  assert.ok(chunks.every((c) => c.tokens <= 5 || c.text === 'x'.repeat(50)));
});

test('PDF pages: a chunk has the page of its start, and pages are cut before paragraphs', () => {
  const text = 'Page one text here.\n\nPage two starts here. More of page two.';
  const pages = [{ page: 1, start: 0, end: 19 }, { page: 2, start: 21, end: text.length }];
  const chunks = chunkText({ text, pages }, { chunkSize: 9, overlap: 0 });
  assert.deepEqual(chunks.map((c) => [c.text, c.page]), [
    ['Page one text here.', 1],
    ['Page two starts here. More of page two.', 2],
  ]);
});

test('headingPath and pageAt', () => {
  const text = '# A\nx\n## B\ny\n### C\nz\n## D\nw';
  const h = markdownHeadings(text);
  const at = (s: string) => text.indexOf(s);
  assert.deepEqual(headingPath(h, at('z'), at('z') + 1), ['A', 'B', 'C']);
  assert.deepEqual(headingPath(h, at('y'), at('z') + 1), ['A', 'B']);
  assert.deepEqual(headingPath(h, at('y'), at('w') + 1), ['A']);
  // Opening with a heading line: that heading's path, whatever sections the range runs into.
  assert.deepEqual(headingPath(h, at('## B'), at('w') + 1), ['A', 'B']);
  assert.deepEqual(headingPath(h, at('### C'), at('w') + 1), ['A', 'B', 'C']);
  assert.deepEqual(headingPath(h, at('## D'), at('w') + 1), ['A', 'D']);
  assert.deepEqual(headingPath(h, 0, 1), ['A']);
  assert.deepEqual(headingPath([], 0, 5), []);
  const pages = [{ page: 1, start: 0, end: 5 }, { page: 2, start: 7, end: 9 }];
  assert.equal(pageAt(pages, 0), 1);
  assert.equal(pageAt(pages, 6), 1);
  assert.equal(pageAt(pages, 7), 2);
  assert.equal(pageAt([], 3), undefined);
});

test('sizes that cannot work are refused, naming the settings', () => {
  for (const [chunkSize, overlap, blamed] of [[0, 0, 'chunkSize'], [1.5, 0, 'chunkSize'], [10, -1, 'overlap'], [10, 10, 'overlap']] as const) {
    const err = (() => {
      try {
        chunkText({ text: 'x' }, { chunkSize, overlap });
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof IngestSettingsError, `${chunkSize}/${overlap}`);
    assert.equal(err.setting, blamed);
    assert.match(err.wordWith((s) => `--${s}`), new RegExp(`--${blamed}`));
  }
});
