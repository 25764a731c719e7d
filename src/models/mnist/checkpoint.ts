/**
 * Resumable training state in one file: every variable training changes
 * (weights, optimizer moments, BatchNorm statistics) plus the run's progress
 * and the optimizers' step counts as safetensors metadata. One file written
 * atomically, so a crash leaves either the previous epoch's checkpoint or the
 * new one, never a mix.
 */
import type { Variable } from '../../core/variable.js';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../io/safetensors.js';
import { assignTensors, weightPaths } from '../../nn/index.js';
import type { TrainingState } from './spec.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'forja-mnist-checkpoint';

/** Progress stored beside the tensors. */
export interface CheckpointMeta {
  model: string;
  /** Epochs completed. */
  epoch: number;
  /** Epochs the run was asked for. */
  epochs: number;
  seed: number;
  batchSize: number;
  lr: number;
  limit: number | null;
  history: Record<string, number>[];
}

interface StoredMeta extends CheckpointMeta {
  /** Each optimizer's step count (Adam's bias correction depends on it). */
  optimizerSteps: Record<string, number>;
}

/**
 * The state's variables under names that do not depend on layer-name
 * counters of the process: '<model>/<layer>/<weight>' and
 * '<optimizer>/<layer>/<weight>/<slot>'. Creates optimizer slots not made yet.
 */
export function stateVariables(state: TrainingState): Map<string, Variable> {
  const named = new Map<string, Variable>();
  for (const [prefix, model] of Object.entries(state.models)) {
    for (const [path, variable] of weightPaths(model)) named.set(`${prefix}/${path}`, variable);
  }
  for (const [prefix, { optimizer, trains }] of Object.entries(state.optimizers)) {
    const trainable = new Set(trains.trainableWeights);
    for (const [path, variable] of weightPaths(trains)) {
      if (!trainable.has(variable)) continue;
      for (const slot of optimizer.slotsFor(variable)) named.set(`${prefix}/${path}/${slot.name.slice(slot.name.lastIndexOf('/') + 1)}`, slot);
    }
  }
  return named;
}

export async function writeCheckpoint(path: string, state: TrainingState, meta: CheckpointMeta): Promise<void> {
  const tensors = new Map([...stateVariables(state)].map(([name, v]) => [name, { shape: v.shape, data: v.value }]));
  const optimizerSteps = Object.fromEntries(Object.entries(state.optimizers).map(([name, o]) => [name, o.optimizer.iterations]));
  const stored: StoredMeta = { ...meta, optimizerSteps };
  await writeSafetensors(path, tensors, { format: FORMAT, run: JSON.stringify(stored) });
}

/** The stored progress, checking the file is one of ours. */
export async function readCheckpointMeta(path: string): Promise<CheckpointMeta> {
  const { optimizerSteps: _steps, ...meta } = await readStoredMeta(path);
  return meta;
}

async function readStoredMeta(path: string): Promise<StoredMeta> {
  let metadata: Record<string, string>;
  try {
    metadata = (await readSafetensorsHeader(path)).metadata;
  } catch (err) {
    throw new Error(`cannot read checkpoint ${path}: ${(err as Error).message}`, { cause: err });
  }
  const run = metadata.run;
  if (metadata.format !== FORMAT || run === undefined) {
    throw new Error(`${path} is not a Forja MNIST checkpoint (metadata format is ${JSON.stringify(metadata.format)})`);
  }
  const meta: unknown = JSON.parse(run);
  if (!isStoredMeta(meta)) throw new Error(`${path}: checkpoint metadata is incomplete: ${run.slice(0, 200)}`);
  return meta;
}

function isStoredMeta(x: unknown): x is StoredMeta {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  const numbers = ['epoch', 'epochs', 'seed', 'batchSize', 'lr'].every((k) => typeof m[k] === 'number');
  return numbers && typeof m.model === 'string' && Array.isArray(m.history) && typeof m.optimizerSteps === 'object' && m.optimizerSteps !== null;
}

/** Put the checkpoint's values and step counts back; names and shapes must match exactly. */
export async function restoreCheckpoint(path: string, state: TrainingState): Promise<void> {
  const { optimizerSteps } = await readStoredMeta(path);
  assignTensors(stateVariables(state), await readSafetensors(path), 'restore checkpoint', path);
  for (const [name, { optimizer }] of Object.entries(state.optimizers)) optimizer.iterations = optimizerSteps[name] ?? 0;
}
