/**
 * Hub download progress on a terminal, one cli-progress bar per file:
 *
 *   model.safetensors [==========..........] 52% 3.1 MB / 6.0 MB
 *
 * Drawn on stderr (stdout stays clean for --json and generated text) and only when it is a TTY;
 * elsewhere every call is a no-op. io reports, this draws.
 */
import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../../io/hub.js';

export interface DownloadBars {
  /** Pass as the hub's `onProgress`. */
  onProgress(p: DownloadProgress): void;
  /** Stop the bar being drawn; call when loading ends, also when it failed. */
  stop(): void;
}

const BAR_WIDTH = 20;

const size = (n: number): string => (n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${(n / 1e6).toFixed(1)} MB`);

/** One bar's line; without a total (no Content-Length) just the bytes so far. */
export function downloadLine(p: DownloadProgress): string {
  if (p.totalBytes === undefined || p.totalBytes === 0) return `${p.file} ${size(p.downloadedBytes)}`;
  const fraction = Math.min(1, p.downloadedBytes / p.totalBytes);
  const filled = Math.round(BAR_WIDTH * fraction);
  const bar = '='.repeat(filled) + '.'.repeat(BAR_WIDTH - filled);
  return `${p.file} [${bar}] ${Math.floor(fraction * 100)}% ${size(p.downloadedBytes)} / ${size(p.totalBytes)}`;
}

const silent: DownloadBars = { onProgress() {}, stop() {} };

/** Bars for hub downloads on `stream` (default stderr); silent unless it is a TTY. */
export function downloadBars(stream: NodeJS.WriteStream = process.stderr): DownloadBars {
  if (!stream.isTTY) return silent;
  let bar: cliProgress.SingleBar | undefined;
  let latest: DownloadProgress | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress(p) {
      if (bar && latest?.file !== p.file) stop();
      latest = p;
      if (!bar) {
        bar = new cliProgress.SingleBar({ stream, hideCursor: true, fps: 10, format: () => (latest ? downloadLine(latest) : '') });
        bar.start(p.totalBytes ?? 0, p.downloadedBytes);
      } else {
        bar.update(p.downloadedBytes);
      }
      if (p.done) stop();
    },
    stop,
  };
}
