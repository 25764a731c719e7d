import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downloadBars, downloadLine } from '../../../src/apps/cli/download-progress.js';

/** A stream that claims to be a terminal and records what is written to it. */
function fakeTerminal(isTTY: boolean): NodeJS.WriteStream & { text(): string } {
  const chunks: string[] = [];
  const stream = {
    isTTY,
    columns: 120,
    write(chunk: unknown) {
      chunks.push(String(chunk));
      return true;
    },
    text: () => chunks.join(''),
  };
  return stream as unknown as NodeJS.WriteStream & { text(): string };
}

// What a terminal would show: escape sequences removed.
const visible = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');

test('downloadLine: bar, percent and sizes; bytes only without a total', () => {
  assert.equal(downloadLine({ file: 'model.safetensors', downloadedBytes: 3_100_000, totalBytes: 6_200_000, done: false }), 'model.safetensors [==========..........] 50% 3.1 MB / 6.2 MB');
  assert.equal(downloadLine({ file: 'config.json', downloadedBytes: 900, totalBytes: 900, done: true }), 'config.json [====================] 100% 0.9 kB / 0.9 kB');
  assert.equal(downloadLine({ file: 'vocab.json', downloadedBytes: 2_500, totalBytes: undefined, done: false }), 'vocab.json 2.5 kB');
});

test('on a TTY: one bar per file, each drawn to its end', () => {
  const term = fakeTerminal(true);
  const bars = downloadBars(term);
  bars.onProgress({ file: 'config.json', downloadedBytes: 0, totalBytes: 500, done: false });
  bars.onProgress({ file: 'config.json', downloadedBytes: 500, totalBytes: 500, done: true });
  bars.onProgress({ file: 'model.safetensors', downloadedBytes: 0, totalBytes: 4_000_000, done: false });
  bars.onProgress({ file: 'model.safetensors', downloadedBytes: 2_000_000, totalBytes: 4_000_000, done: false });
  bars.stop(); // e.g. the download failed here
  const shown = visible(term.text());
  assert.match(shown, /config\.json \[=+\] 100% 0\.5 kB \/ 0\.5 kB/);
  assert.match(shown, /model\.safetensors \[=+\.+\] 50% 2\.0 MB \/ 4\.0 MB/);
  assert.ok(!/model\.safetensors.*100%/.test(shown), 'a stopped download is not shown as complete');
  bars.stop(); // twice is fine
});

test('off a TTY nothing is written', () => {
  const pipe = fakeTerminal(false);
  const bars = downloadBars(pipe);
  bars.onProgress({ file: 'config.json', downloadedBytes: 500, totalBytes: 500, done: true });
  bars.stop();
  assert.equal(pipe.text(), '');
});
