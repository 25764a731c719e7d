import assert from 'node:assert/strict';
import { test } from 'node:test';
import { htmlText } from '../../../src/rag/sources/html.js';

test('headings become Markdown-like lines at exact offsets; scripts, styles and hrefs are dropped', () => {
  const html = `<!doctype html><html><head><title>Guide &amp; more</title><style>p { color: red }</style><script>var x = 1</script></head>
<body><h1>Getting <em>started</em></h1><p>A paragraph that is longer than eighty characters, so that word wrapping would have split it.</p>
<h2>Install</h2><p>See <a href="https://example.com">the site</a>.</p><h3> Deep
 heading </h3><p>Last.</p></body></html>`;
  const { text, headings, title } = htmlText(html);
  assert.equal(title, 'Guide & more');
  assert.deepEqual(headings.map((h) => [h.level, h.title, text.slice(h.start, h.end)]), [
    [1, 'Getting started', '# Getting started'],
    [2, 'Install', '## Install'],
    [3, 'Deep heading', '### Deep heading'],
  ]);
  assert.match(text, /A paragraph that is longer than eighty characters, so that word wrapping would have split it\./);
  assert.match(text, /See the site\./);
  assert.doesNotMatch(text, /color|var x|example\.com/);
  assert.match(text, /## Install\n\nSee the site\.\n\n### Deep heading\n\nLast\./);
});

test('a # in a paragraph or <pre> is not a heading, and marker characters in the input are dropped', () => {
  const { text, headings } = htmlText('<p># not a heading</p><pre>\n# nor this\n</pre><p>odd \uE001char\uE000</p>');
  assert.deepEqual(headings, []);
  assert.match(text, /# not a heading/);
  assert.match(text, /odd char/);
});

test('a heading with no text is left out; no <title> gives no title', () => {
  const { headings, title } = htmlText('<h2><img src="x.png"></h2><p>body</p>');
  assert.deepEqual(headings, []);
  assert.equal(title, undefined);
});
