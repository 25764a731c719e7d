/**
 * An MNIST trainer's state under names that do not depend on the process's
 * layer-name counters ('<model>/<layer>/<weight>', '<optimizer>/<layer>/<weight>/<slot>'),
 * and the reader that lets a checkpoint written by Forja 0.1's MNIST runner
 * (format 'forja-mnist-checkpoint', the same tensor names) resume.
 */
import { weightPaths } from '../../nn/index.js';
import type { StoredRun, TrainingState as TrainerState } from '../../train/index.js';
import type { Variable } from '../../core/variable.js';
import type { TrainingState } from './spec.js';

/** The Trainer's view of an MNIST trainer's state. Creates optimizer slots not made yet. */
export function trainingState(state: TrainingState): TrainerState {
  const variables = new Map<string, Variable>();
  for (const [prefix, model] of Object.entries(state.models)) {
    for (const [path, variable] of weightPaths(model)) variables.set(`${prefix}/${path}`, variable);
  }
  for (const [prefix, { optimizer, trains }] of Object.entries(state.optimizers)) {
    const trainable = new Set(trains.trainableWeights);
    for (const [path, variable] of weightPaths(trains)) {
      if (!trainable.has(variable)) continue;
      for (const slot of optimizer.slotsFor(variable)) variables.set(`${prefix}/${path}/${slot.name.slice(slot.name.lastIndexOf('/') + 1)}`, slot);
    }
  }
  const optimizers = Object.fromEntries(Object.entries(state.optimizers).map(([name, { optimizer }]) => [name, optimizer]));
  return { variables, optimizers, ...(state.rngs ? { rngs: state.rngs } : {}) };
}

interface LegacyMeta {
  model: string;
  epoch: number;
  epochs: number;
  seed: number;
  batchSize: number;
  lr: number;
  limit: number | null;
  history: Record<string, number>[];
  optimizerSteps: Record<string, number>;
}

/**
 * Forja 0.1 checkpoints were always written at the end of an epoch; noise
 * streams restart from (seed, epoch) there, so their state is what
 * startEpoch would set (it is called, since the step is 0).
 */
export function legacyMnistCheckpoint(metadata: Record<string, string>): StoredRun | undefined {
  if (metadata.format !== 'forja-mnist-checkpoint' || metadata.run === undefined) return undefined;
  let m: LegacyMeta;
  try {
    m = JSON.parse(metadata.run) as LegacyMeta;
  } catch {
    return undefined;
  }
  if (typeof m.epoch !== 'number' || typeof m.optimizerSteps !== 'object' || !Array.isArray(m.history)) return undefined;
  const steps = Object.values(m.optimizerSteps)[0] ?? 0;
  return {
    position: { epoch: m.epoch, step: 0, globalStep: steps },
    history: m.history.map(({ epoch, ...logs }) => ({ epoch: (epoch ?? 1) - 1, ...logs })),
    epochSums: { sums: {}, weight: 0 },
    optimizers: m.optimizerSteps,
    rngs: { noise: 0 },
    meta: { model: m.model, epochs: m.epochs, seed: m.seed, batchSize: m.batchSize, lr: m.lr, limit: m.limit ?? null },
  };
}
