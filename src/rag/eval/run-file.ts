/**
 * TREC run files, the format trec_eval and pytrec_eval read: one line per retrieved document,
 * `query-id Q0 doc-id rank score tag`, space-separated. Written atomically (a reader sees the old file or
 * the whole new one), ranks from 1 in the run's order.
 */
import * as fsp from 'node:fs/promises';
import { writeFileAtomic } from '../../io/atomic.js';
import { RunFileError } from './errors.js';
import type { Run } from './metrics.js';

const BLANK = /\s/;

function checkField(path: string, what: string, value: string): void {
  if (value.length === 0 || BLANK.test(value)) throw new RunFileError(path, `${what} ${JSON.stringify(value)} is empty or holds whitespace, which a run file cannot store`);
}

/** The run as TREC run-file text. */
export function formatTrecRun(run: Run, tag: string, path = 'run'): string {
  checkField(path, 'run tag', tag);
  const lines: string[] = [];
  for (const [qid, ranking] of run) {
    checkField(path, 'query id', qid);
    ranking.forEach((d, i) => {
      checkField(path, `query ${qid}: document id`, d.docId);
      if (!Number.isFinite(d.score)) throw new RunFileError(path, `query ${qid}, document ${d.docId}: score ${d.score} is not a finite number`);
      lines.push(`${qid} Q0 ${d.docId} ${i + 1} ${d.score} ${tag}`);
    });
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Writes `run` to `path` atomically. */
export async function writeTrecRun(path: string, run: Run, tag: string): Promise<void> {
  await writeFileAtomic(path, formatTrecRun(run, tag, path));
}

/** Reads a TREC run file back: query id -> documents in file order, with their scores. */
export async function readTrecRun(path: string): Promise<Run> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    throw new RunFileError(path, `cannot read: ${(err as Error).message}`, undefined, { cause: err });
  }
  const run: Run = new Map();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const f = line.split(/\s+/);
    if (f.length !== 6) throw new RunFileError(path, `expected 6 fields (query-id Q0 doc-id rank score tag), found ${f.length}`, i + 1);
    const score = Number(f[4]);
    if (!Number.isFinite(score)) throw new RunFileError(path, `score ${f[4]} is not a number`, i + 1);
    let list = run.get(f[0]!);
    if (!list) run.set(f[0]!, (list = []));
    list.push({ docId: f[2]!, score });
  });
  return run;
}
