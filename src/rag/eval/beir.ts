/**
 * BEIR's dataset files, read as its GenericDataLoader reads them but strictly: `queries.jsonl`
 * (`{"_id", "text"}` per line) and `qrels/<split>.tsv` (a header, then query-id, corpus-id and an integer
 * grade per tab-separated line, CRLF allowed). Every problem is a DatasetError naming file and line. As in
 * BEIR, the queries evaluated are those the qrels judge, in the qrels' order.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from './errors.js';

/** Query id -> (document id -> relevance grade). */
export type Qrels = Map<string, Map<string, number>>;

export interface BeirDataset {
  /** The dataset directory (or '' for one assembled in memory). */
  dir: string;
  split: string;
  /** The judged queries, id -> text, in the qrels' order. */
  queries: Map<string, string>;
  qrels: Qrels;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

async function readLines(path: string, what: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file (a BEIR dataset needs ${what})` : `cannot read: ${(err as Error).message}`;
    throw new DatasetError(path, reason, undefined, { cause: err });
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (err) {
    throw new DatasetError(path, 'is not UTF-8 text', undefined, { cause: err });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** queries.jsonl: id -> text, in file order. */
export async function loadQueries(path: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  const firstLine = new Map<string, number>();
  const lines = await readLines(path, 'queries.jsonl');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (err) {
      throw new DatasetError(path, `not JSON (${(err as Error).message})`, line);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new DatasetError(path, 'expected a JSON object with "_id" and "text"', line);
    const { _id: id, text } = row as { _id?: unknown; text?: unknown };
    if (typeof id !== 'string' && typeof id !== 'number') throw new DatasetError(path, '"_id" is missing or not a string', line);
    if (typeof text !== 'string') throw new DatasetError(path, `query ${String(id)}: "text" is missing or not a string`, line);
    const key = String(id);
    const seen = firstLine.get(key);
    if (seen !== undefined) throw new DatasetError(path, `query id ${key} appears again (first on line ${seen})`, line);
    firstLine.set(key, line);
    queries.set(key, text);
  });
  return queries;
}

/** qrels/<split>.tsv: query id -> document id -> grade, queries in order of first appearance. */
export async function loadQrels(path: string): Promise<Qrels> {
  const lines = await readLines(path, 'qrels/<split>.tsv');
  const header = lines[0]?.split('\t') ?? [];
  if (header.length < 3 || /^-?\d+$/.test(header[2]!.trim())) {
    throw new DatasetError(path, 'expected the header line "query-id<TAB>corpus-id<TAB>score"', 1);
  }
  const qrels: Qrels = new Map();
  const judgedOn = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const fields = raw.split('\t');
    if (fields.length !== 3) throw new DatasetError(path, `expected 3 tab-separated fields (query-id, corpus-id, score), found ${fields.length}`, line);
    const [qid, docId, grade] = fields.map((f) => f.trim()) as [string, string, string];
    if (!qid || !docId) throw new DatasetError(path, 'empty query-id or corpus-id', line);
    if (!/^-?\d+$/.test(grade)) throw new DatasetError(path, `score ${JSON.stringify(grade)} is not an integer`, line);
    const pair = `${qid}\t${docId}`;
    const first = judgedOn.get(pair);
    if (first !== undefined) throw new DatasetError(path, `query ${qid}, document ${docId} is judged again (first on line ${first})`, line);
    judgedOn.set(pair, line);
    let judged = qrels.get(qid);
    if (!judged) qrels.set(qid, (judged = new Map()));
    judged.set(docId, Number(grade));
  }
  if (qrels.size === 0) throw new DatasetError(path, 'holds no judgments');
  return qrels;
}

/** A BEIR dataset directory's judged queries and qrels for `split`. */
export async function loadBeirDataset(dir: string, split = 'test'): Promise<BeirDataset> {
  const queriesPath = join(dir, 'queries.jsonl');
  const qrelsPath = join(dir, 'qrels', `${split}.tsv`);
  const [all, qrels] = await Promise.all([loadQueries(queriesPath), loadQrels(qrelsPath)]);
  const missing = [...qrels.keys()].filter((q) => !all.has(q));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    throw new DatasetError(qrelsPath, `judges queries that ${queriesPath} does not hold: ${shown}`);
  }
  const queries = new Map([...qrels.keys()].map((q) => [q, all.get(q)!]));
  return { dir, split, queries, qrels };
}
