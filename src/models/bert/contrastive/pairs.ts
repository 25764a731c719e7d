/**
 * (query, positive passage) pairs from a BEIR-format dataset, and the batches
 * MultipleNegativesRankingLoss trains on.
 *
 * In-batch negatives make every other passage of a batch a negative for each
 * query, so a batch must not hold a passage that is relevant to another of its
 * queries (the same passage twice, or the same query with two positives): it
 * would be a false negative. Batches are filled greedily from a seeded
 * shuffle, as sentence-transformers' NoDuplicatesBatchSampler does, skipping
 * pairs that conflict and leaving them for a later batch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { epochOrder } from '../../../data/batches.js';
import { loadQrels, loadQueries } from '../../../rag/eval/beir.js';
import { DatasetError } from '../../../rag/eval/errors.js';
import { beirItems } from '../../../rag/sources/beir.js';
import type { SourceSkipError } from '../../../rag/sources/types.js';

export interface ContrastivePair {
  queryId: string;
  passageId: string;
  query: string;
  passage: string;
}

export interface ContrastiveData {
  pairs: ContrastivePair[];
  /** Query id → every passage id judged relevant to it (score ≥ minScore), also those left out of `pairs`. */
  relevant: ReadonlyMap<string, ReadonlySet<string>>;
}

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

/** Pairs built in memory; `relevant` defaults to each pair's own positive. */
export function pairsData(pairs: readonly ContrastivePair[], relevant?: ReadonlyMap<string, ReadonlySet<string>>): ContrastiveData {
  if (relevant) return { pairs: [...pairs], relevant };
  const map = new Map<string, Set<string>>();
  for (const p of pairs) {
    let set = map.get(p.queryId);
    if (!set) map.set(p.queryId, (set = new Set()));
    set.add(p.passageId);
  }
  return { pairs: [...pairs], relevant: map };
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

/**
 * The batches of one epoch, as indices into `data.pairs`: a permutation seeded by (seed, epoch), cut
 * greedily into batches of at most `batchSize` pairs in which no passage is relevant to another
 * pair's query and no passage text repeats. Every pair is in exactly one batch.
 */
export function epochBatches(data: ContrastiveData, batchSize: number, seed: number, epoch: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`contrastive batches: batchSize must be a positive integer, received ${batchSize}`);
  const { pairs, relevant } = data;
  let remaining = Array.from(epochOrder(pairs.length, { seed, epoch }));
  const batches: number[][] = [];
  const positivesOf = (p: ContrastivePair): ReadonlySet<string> => relevant.get(p.queryId) ?? new Set([p.passageId]);
  while (remaining.length > 0) {
    const batch: number[] = [];
    const passageIds = new Set<string>();
    const passageTexts = new Set<string>();
    const blocked = new Set<string>(); // passages relevant to a query already in the batch
    const left: number[] = [];
    for (const i of remaining) {
      const p = pairs[i]!;
      const positives = positivesOf(p);
      const fits =
        batch.length < batchSize &&
        !blocked.has(p.passageId) &&
        !passageTexts.has(p.passage) &&
        ![...positives].some((id) => passageIds.has(id));
      if (!fits) {
        left.push(i);
        continue;
      }
      batch.push(i);
      passageIds.add(p.passageId);
      passageTexts.add(p.passage);
      for (const id of positives) blocked.add(id);
    }
    batches.push(batch);
    remaining = left;
  }
  return batches;
}
