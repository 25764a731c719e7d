/**
 * Download progress while a pipeline loads its model, for every task alike: the caller's
 * `onProgress` and transformers.js-style `progress_callback`, or bars on stderr when it gave neither.
 */
import type { DownloadProgress } from '../io/hub.js';
import { downloadBars } from './cli/download-progress.js';

/** The download events of transformers.js's ProgressInfo (total is 0 when unknown). */
export type DownloadProgressInfo =
  | { status: 'progress'; name: string; file: string; progress: number; loaded: number; total: number }
  | { status: 'done'; name: string; file: string };

export interface LoadProgressOptions {
  /** transformers.js-style download events; without it (or onProgress) bars are drawn on stderr when it is a TTY. */
  progress_callback?: (info: DownloadProgressInfo) => void;
  onProgress?: (p: DownloadProgress) => void;
}

function progressInfo(name: string, p: DownloadProgress): DownloadProgressInfo {
  if (p.done) return { status: 'done', name, file: p.file };
  const total = p.totalBytes ?? 0;
  return { status: 'progress', name, file: p.file, progress: total > 0 ? (100 * p.downloadedBytes) / total : 0, loaded: p.downloadedBytes, total };
}

/** Run `load` with one progress reporter for model `name`; the bars are stopped however it ends. */
export async function withLoadProgress<T>(name: string, options: LoadProgressOptions, load: (onProgress: (p: DownloadProgress) => void) => Promise<T>): Promise<T> {
  const { progress_callback: callback, onProgress } = options;
  const bars = callback || onProgress ? undefined : downloadBars();
  try {
    return await load((p) => {
      onProgress?.(p);
      callback?.(progressInfo(name, p));
      bars?.onProgress(p);
    });
  } finally {
    bars?.stop();
  }
}
