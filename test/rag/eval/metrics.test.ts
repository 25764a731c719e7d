import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { averagePrecisionAt, beirOrder, evaluateRun, ndcgAt, recallAt, reciprocalRankAt, trecOrder, type Run } from '../../../src/rag/eval/metrics.js';
import type { Qrels } from '../../../src/rag/eval/beir.js';

const judged = (entries: Record<string, number>) => new Map(Object.entries(entries));
const ranked = (entries: [string, number][]) => entries.map(([docId, score]) => ({ docId, score }));

function close(actual: number | undefined, expected: number, what = ''): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);
}

// q1: binary, with a judged non-relevant document. Ranks: 1 X, 2 A (rel), 3 C (judged 0), 4 B (rel), 5 Y.
const Q1 = judged({ A: 1, B: 1, C: 0 });
const R1 = ranked([['X', 0.9], ['A', 0.8], ['C', 0.7], ['B', 0.6], ['Y', 0.5]]);
// q2: graded; D (grade 3) is never retrieved. Ranks: 1 B (1), 2 A (2), 3 E (unjudged).
const Q2 = judged({ A: 2, B: 1, D: 3 });
const R2 = ranked([['B', 3], ['A', 2], ['E', 1]]);

describe('metrics by hand', () => {
  test('nDCG@k: grade as gain, log2(rank + 1) discount, ideal from the qrels', () => {
    // q1@3: (1/log2 3) / (1 + 1/log2 3); q1@5: (1/log2 3 + 1/log2 5) / (1 + 1/log2 3)
    close(ndcgAt(R1, Q1, 3), 0.38685280723454163, 'q1@3');
    close(ndcgAt(R1, Q1, 5), 0.6509209298071326, 'q1@5');
    close(ndcgAt(R1, Q1, 1), 0, 'q1@1');
    // q2@3: (1 + 2/log2 3) / (3 + 2/log2 3 + 1/log2 4); q2@1: 1/3
    close(ndcgAt(R2, Q2, 3), 0.4749950106150897, 'q2@3');
    close(ndcgAt(R2, Q2, 1), 1 / 3, 'q2@1');
    close(ndcgAt([], Q2, 10), 0, 'empty ranking');
  });

  test('MAP@k divides by all relevant documents, not by k', () => {
    close(averagePrecisionAt(R1, Q1, 3), 0.5 / 2, 'q1@3: P@2 = 1/2 over 2 relevant');
    close(averagePrecisionAt(R1, Q1, 5), (1 / 2 + 2 / 4) / 2, 'q1@5');
    close(averagePrecisionAt(R2, Q2, 10), (1 / 1 + 2 / 2) / 3, 'q2: grades 1, 2, 3 all count as relevant');
  });

  test('Recall@k', () => {
    close(recallAt(R1, Q1, 3), 1 / 2);
    close(recallAt(R1, Q1, 4), 1);
    close(recallAt(R2, Q2, 10), 2 / 3);
  });

  test('MRR@k: the first relevant document within k', () => {
    close(reciprocalRankAt(R1, Q1, 1), 0);
    close(reciprocalRankAt(R1, Q1, 3), 1 / 2);
    close(reciprocalRankAt(R2, Q2, 10), 1);
  });
});

describe('ties', () => {
  test("trec_eval sorts equal scores by document id, descending; BEIR's MRR keeps the given order", () => {
    const qrels: Qrels = new Map([['q', judged({ b: 1 })]]);
    const run: Run = new Map([['q', ranked([['a', 1], ['b', 1], ['c', 0.5]])]]);
    assert.deepEqual(trecOrder(run.get('q')!).map((d) => d.docId), ['b', 'a', 'c']);
    assert.deepEqual(beirOrder(run.get('q')!).map((d) => d.docId), ['a', 'b', 'c']);
    const { metrics } = evaluateRun(qrels, run, { ndcg: [1], map: [1], recall: [1], mrr: [1, 2] });
    assert.deepEqual(metrics, { 'NDCG@1': 1, 'MAP@1': 1, 'Recall@1': 1, 'MRR@1': 0, 'MRR@2': 0.5 });
  });

  test('ids compare as bytes, not as numbers', () => {
    assert.deepEqual(trecOrder(ranked([['10', 2], ['9', 2], ['100', 2]])).map((d) => d.docId), ['9', '100', '10']);
  });

  test('scores equal as 32-bit floats tie, as in trec_eval', () => {
    // 1 + 1e-10 rounds to 1 in float32, so z (larger id) comes first despite the lower double
    assert.deepEqual(trecOrder(ranked([['y', 1 + 1e-10], ['z', 1]])).map((d) => d.docId), ['z', 'y']);
    assert.deepEqual(trecOrder(ranked([['y', 1 + 1e-6], ['z', 1]])).map((d) => d.docId), ['y', 'z']);
  });
});

describe('evaluateRun', () => {
  test('means over every judged query: missing runs and all-zero judgments count as 0', () => {
    const qrels: Qrels = new Map([
      ['q1', Q1],
      ['q2', Q2],
      ['q4', judged({ A: 0 })],
      ['q5', judged({ A: 1 })],
    ]);
    const run: Run = new Map([
      ['q1', R1],
      ['q2', R2],
      ['q4', ranked([['A', 1]])],
      ['extra', ranked([['A', 1]])],
    ]);
    const r = evaluateRun(qrels, run, { ndcg: [3], map: [5], recall: [3], mrr: [10] });
    assert.equal(r.queries, 4);
    assert.equal(r.queriesWithoutRelevant, 1);
    close(r.metrics['NDCG@3'], (0.38685280723454163 + 0.4749950106150897) / 4, 'NDCG@3');
    close(r.metrics['MAP@5'], ((1 / 2 + 2 / 4) / 2 + 2 / 3) / 4, 'MAP@5');
    close(r.metrics['Recall@3'], (1 / 2 + 2 / 3) / 4, 'Recall@3');
    close(r.metrics['MRR@10'], (1 / 2 + 1) / 4, 'MRR@10');
    assert.deepEqual(r.perQuery.get('q5'), { 'NDCG@3': 0, 'MAP@5': 0, 'Recall@3': 0, 'MRR@10': 0 });
    assert.ok(!r.perQuery.has('extra'), 'unjudged queries are not evaluated');
  });

  test('the default cutoffs are those BEIR reports for SciFact', () => {
    const r = evaluateRun(new Map([['q1', Q1]]), new Map([['q1', R1]]));
    assert.deepEqual(Object.keys(r.metrics), ['NDCG@10', 'MAP@100', 'Recall@10', 'Recall@100', 'MRR@10']);
  });

  test('a document ranked twice and a bad cutoff are refused', () => {
    assert.throws(() => evaluateRun(new Map([['q', Q1]]), new Map([['q', ranked([['A', 1], ['A', 0.5]])]])), /ranks document A twice/);
    assert.throws(() => evaluateRun(new Map([['q', Q1]]), new Map(), { ndcg: [0], map: [], recall: [], mrr: [] }), /ndcg cutoff 0/);
  });
});
