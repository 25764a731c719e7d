/**
 * What the studio's tests share: a real (tiny) `forja train` run written into a runs directory, a loss.csv
 * rewritten the way the trainer's csvLogger does it, and Debian's Chromium driven by playwright-core.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { writeFileAtomic } from '../../../src/io/atomic.js';
import { mnistModels, trainRun, type RunResult } from '../../../src/models/mnist/index.js';
import { historyCsv } from '../../../src/train/loggers.js';
import type { HistoryRow } from '../../../src/train/history.js';

/** An autoencoder trained for `epochs` on `limit` digits into `runsDir/name`, as `forja train autoencoder --out` writes it. */
export async function trainTinyRun(runsDir: string, name: string, epochs = 2, limit = 300): Promise<RunResult> {
  return trainRun(mnistModels.autoencoder, { epochs, limit, seed: 1, outDir: join(runsDir, name) });
}

/** loss.csv's rows (epochs counted from 0, as the Trainer's history holds them). */
export async function readHistory(runDir: string): Promise<HistoryRow[]> {
  const [header, ...lines] = (await readFile(join(runDir, 'loss.csv'), 'utf8')).trim().split('\n');
  const columns = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',').map(Number);
    const row: HistoryRow = { epoch: cells[0]! - 1 };
    columns.slice(1).forEach((c, i) => (row[c] = cells[i + 1]!));
    return row;
  });
}

/** Rewrites loss.csv atomically from `rows`, exactly as csvLogger does after every epoch. */
export async function writeHistory(runDir: string, rows: readonly HistoryRow[]): Promise<void> {
  await writeFileAtomic(join(runDir, 'loss.csv'), historyCsv(rows));
}

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumMissing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; .ci/run does it): the studio's browser tests skip`;

/** Chromium headless, with no sandbox (containers) and no background requests (the tests run offline). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
}

/** Where screenshots go: FORJA_STUDIO_SCREENSHOTS (the docs/ folder, when refreshing the README's pictures), else `fallback`. */
export function screenshotDir(fallback: string): string {
  return process.env.FORJA_STUDIO_SCREENSHOTS ?? fallback;
}
