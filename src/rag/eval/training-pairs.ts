/**
 * (query, positive passage) training pairs from a BEIR-format dataset (queries.jsonl, qrels/<split>.tsv,
 * corpus.jsonl), for contrastive fine-tuning of an embedder (models/bert/contrastive).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContrastiveData, ContrastivePair } from '../../models/bert/contrastive/pairs.js';
import { beirItems } from '../sources/beir.js';
import type { SourceSkipError } from '../sources/types.js';
import { loadQrels, loadQueries } from './beir.js';
import { DatasetError } from './errors.js';

export interface BeirPairOptions {
  /** The qrels split (qrels/<split>.tsv); default 'train'. */
  split?: string;
  /** Lowest grade that counts as a positive; default 1. */
  minScore?: number;
}

/**
 * Pairs of a BEIR dataset directory (queries.jsonl, qrels/<split>.tsv, corpus.jsonl), in qrels order.
 * A passage's text is the document text the ingestion builds from the corpus line (title, blank line,
 * text), so training sees what the index embeds. An id the queries or the corpus do not hold is a
 * DatasetError naming the qrels file and line.
 */
export async function loadBeirPairs(dir: string, opts: BeirPairOptions = {}): Promise<ContrastiveData> {
  const split = opts.split ?? 'train';
  const minScore = opts.minScore ?? 1;
  const qrelsPath = join(dir, 'qrels', `${split}.tsv`);
  const queriesPath = join(dir, 'queries.jsonl');
  const corpusPath = join(dir, 'corpus.jsonl');
  const qrels = await loadQrels(qrelsPath);
  const queries = await loadQueries(queriesPath);
  const relevant = new Map<string, Set<string>>();
  for (const [qid, docs] of qrels) {
    for (const [docId, grade] of docs) {
      if (grade < minScore) continue;
      let set = relevant.get(qid);
      if (!set) relevant.set(qid, (set = new Set()));
      set.add(docId);
    }
  }
  if (relevant.size === 0) throw new DatasetError(qrelsPath, `holds no judgment with a score of at least ${minScore}, so there are no positive pairs`);
  for (const qid of relevant.keys()) {
    if (!queries.has(qid)) throw new DatasetError(qrelsPath, `query ${qid} is not in ${queriesPath}`, await lineOf(qrelsPath, qid));
  }
  const passages = await readPassages(corpusPath, new Set([...relevant.values()].flatMap((s) => [...s])));
  const pairs: ContrastivePair[] = [];
  for (const [qid, docs] of relevant) {
    for (const docId of docs) {
      const passage = passages.get(docId);
      if (passage === undefined) throw new DatasetError(qrelsPath, `document ${docId} (judged for query ${qid}) is not in ${corpusPath}`, await lineOf(qrelsPath, qid, docId));
      pairs.push({ queryId: qid, passageId: docId, query: queries.get(qid)!, passage });
    }
  }
  return { pairs, relevant };
}

/** The texts of `wanted` corpus documents; an unreadable corpus is an error, other bad lines only if wanted. */
async function readPassages(path: string, wanted: ReadonlySet<string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const skipped: SourceSkipError[] = [];
  for await (const item of beirItems(path, (e) => skipped.push(e))) {
    if (!wanted.has(item.id) || out.has(item.id)) continue;
    const doc = await item.load();
    out.set(item.id, doc.text);
  }
  const unreadable = skipped.find((s) => s.code === 'unreadable');
  if (unreadable) throw new DatasetError(path, unreadable.reason, undefined, { cause: unreadable });
  return out;
}

/** 1-based line of the first qrels row for `qid` (and `docId`), to point at in an error. */
async function lineOf(path: string, qid: string, docId?: string): Promise<number | undefined> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const i = lines.findIndex((l, n) => {
    const [q, d] = l.split('\t').map((f) => f.trim());
    return n > 0 && q === qid && (docId === undefined || d === docId);
  });
  return i < 0 ? undefined : i + 1;
}
