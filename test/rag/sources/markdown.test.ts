import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdownHeadings, titleOf } from '../../../src/rag/sources/markdown.js';

const spans = (text: string) => markdownHeadings(text).map((h) => ({ level: h.level, title: h.title, line: text.slice(h.start, h.end) }));

test('ATX headings: levels, closing hashes, up to three spaces of indent, exact line spans', () => {
  const text = '# One\n\ntext\n\n  ## Two ##\n###### Six\n####### seven is not a heading\n#nospace\n# C#\n';
  assert.deepEqual(spans(text), [
    { level: 1, title: 'One', line: '# One' },
    { level: 2, title: 'Two', line: '## Two ##' },
    { level: 6, title: 'Six', line: '###### Six' },
    { level: 1, title: 'C#', line: '# C#' },
  ]);
});

test('setext headings underline a paragraph; a thematic break or list item is not one', () => {
  const text = 'Title\nsecond line\n=====\n\nSub\n---\n\n- item\n---\n\n***\n---\n';
  assert.deepEqual(spans(text), [
    { level: 1, title: 'Title second line', line: 'Title\nsecond line\n=====' },
    { level: 2, title: 'Sub', line: 'Sub\n---' },
  ]);
});

test('fenced code and front matter hold no headings; CRLF lines work', () => {
  const text = '---\ntitle: x\n---\n# Real\r\n\r\n```sh\n# comment\n```\n~~~\n# also code\n~~~\n## After\r\n';
  assert.deepEqual(spans(text), [
    { level: 1, title: 'Real', line: '# Real' },
    { level: 2, title: 'After', line: '## After' },
  ]);
});

test('an indented line is code, not a heading', () => {
  assert.deepEqual(spans('    # code\n\n\t# code\n'), []);
});

test('titleOf takes the first level-1 heading, else the first heading', () => {
  assert.equal(titleOf(markdownHeadings('## a\n# b\n# c\n')), 'b');
  assert.equal(titleOf(markdownHeadings('### a\n## b\n')), 'a');
  assert.equal(titleOf([]), undefined);
});
