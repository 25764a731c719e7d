/**
 * What fine-tuning reads from its data, and which rows each step trains on.
 *
 * The task needs only rows it can batch (text/finetune's FinetuneSplit is
 * one): `batch(indices)` gives row-major [rows, T] input_ids, attention_mask,
 * position_ids and labels (unshifted, -100 where no loss is taken), and the
 * segment ids of packed rows. The rows of a step are a pure function of the
 * global step, so a resumed run draws exactly the batches an uninterrupted
 * one would.
 */
import { createHash } from 'node:crypto';
import { batchCount, epochOrder } from '../../data/batches.js';
import type { FinetuneBatch } from '../../data/finetune/batching.js';
import { FinetuneSettingsError } from './errors.js';
import { warmupStepsOf, type FinetuneArgs } from './args.js';

export type { FinetuneBatch };

/** Rows of one split, batched on demand. */
export interface FinetuneRows {
  /** Number of rows. */
  readonly size: number;
  batch(indices: ArrayLike<number>): FinetuneBatch;
}

/** Training and (optionally) validation rows. */
export interface FinetuneDataset {
  train: FinetuneRows;
  validation?: FinetuneRows | undefined;
}

/** How a run's steps fall on the data, as transformers' Trainer counts them. */
export interface StepPlan {
  /** Micro-batches in one pass over the training rows (the last may be short). */
  batchesPerEpoch: number;
  /** Optimizer steps per pass: ⌈batches / gradient_accumulation_steps⌉. */
  updatesPerEpoch: number;
  /** max_steps if positive, else ⌈num_train_epochs · updatesPerEpoch⌉. */
  totalSteps: number;
  warmupSteps: number;
  /** Steps per evaluation interval (a Trainer epoch). */
  evalSteps: number;
  /** Steps between checkpoints (a multiple of evalSteps). */
  saveSteps: number;
}

export function planSteps(args: FinetuneArgs, trainRows: number): StepPlan {
  if (trainRows < 1) throw new FinetuneSettingsError('data', '{data} has no training rows');
  const batchesPerEpoch = batchCount(trainRows, args.per_device_train_batch_size);
  const updatesPerEpoch = Math.ceil(batchesPerEpoch / args.gradient_accumulation_steps);
  const totalSteps = args.max_steps > 0 ? args.max_steps : Math.max(1, Math.ceil(args.num_train_epochs * updatesPerEpoch));
  const warmupSteps = warmupStepsOf(args, totalSteps);
  const evalSteps = Math.min(args.eval_steps > 0 ? args.eval_steps : updatesPerEpoch, totalSteps);
  const saveSteps = args.save_steps > 0 ? args.save_steps : evalSteps;
  return { batchesPerEpoch, updatesPerEpoch, totalSteps, warmupSteps, evalSteps, saveSteps };
}

/** The row indices of each micro-batch of optimizer step `step` (0-based). */
export function stepRows(plan: StepPlan, args: FinetuneArgs, trainRows: number, step: number): Int32Array[] {
  const epoch = Math.floor(step / plan.updatesPerEpoch);
  const first = (step % plan.updatesPerEpoch) * args.gradient_accumulation_steps;
  const last = Math.min(first + args.gradient_accumulation_steps, plan.batchesPerEpoch);
  const order = epochOrder(trainRows, { shuffle: true, seed: args.data_seed, epoch });
  const B = args.per_device_train_batch_size;
  const out: Int32Array[] = [];
  for (let b = first; b < last; b++) out.push(order.subarray(b * B, Math.min((b + 1) * B, trainRows)));
  return out;
}

/** The batches covering every row of `rows` once, in order, `batchSize` rows each (the last may be short). */
export function* inOrder(rows: FinetuneRows, batchSize: number): Generator<FinetuneBatch> {
  for (let start = 0; start < rows.size; start += batchSize) {
    const end = Math.min(start + batchSize, rows.size);
    yield rows.batch(Int32Array.from({ length: end - start }, (_, i) => start + i));
  }
}

/** What a resume checks it continues on: a hash of every training row's ids, labels, positions and segments. */
export interface DataFingerprint {
  sha256: string;
  rows: number;
  tokens: number;
}

export function fingerprintRows(rows: FinetuneRows): DataFingerprint {
  const hash = createHash('sha256');
  let tokens = 0;
  for (const batch of inOrder(rows, 64)) {
    for (const a of [batch.inputIds, batch.labels, batch.positionIds, batch.attentionMask]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    hash.update(new Uint8Array(batch.segmentIds.buffer, batch.segmentIds.byteOffset, batch.segmentIds.byteLength));
    tokens += batch.tokens;
  }
  return { sha256: hash.digest('hex'), rows: rows.size, tokens };
}
