/**
 * The one checkpoint format: every variable training changes (weights,
 * optimizer slots, running statistics) as safetensors tensors, and the rest of
 * the run (position, optimizer step counts, RNG states, history, the current
 * epoch's running sums, the task's settings) as JSON in the safetensors
 * metadata. One file, written atomically: a crash leaves the previous
 * checkpoint or the new one, never a mix.
 */
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../io/safetensors.js';
import { assignTensors } from '../nn/index.js';
import { CheckpointError } from './errors.js';
import type { HistoryRow, Logs } from './history.js';
import type { Position, TrainingState } from './trainer.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'forja-checkpoint';
const VERSION = 1;

export interface CheckpointContents {
  state: TrainingState;
  position: Position;
  history: HistoryRow[];
  epochSums: { sums: Logs; weight: number };
  /** The task's settings. */
  meta: Record<string, unknown>;
}

/** What the metadata holds besides the tensors. */
export interface StoredRun {
  position: Position;
  history: HistoryRow[];
  epochSums: { sums: Logs; weight: number };
  optimizers: Record<string, number>;
  rngs: Record<string, number>;
  meta: Record<string, unknown>;
}

/** Reads the metadata of an older format into a StoredRun, or returns undefined if it is not that format. */
export type LegacyReader = (metadata: Record<string, string>) => StoredRun | undefined;

export async function writeCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  const { state } = contents;
  const tensors = new Map([...state.variables].map(([name, v]) => [name, { shape: v.shape, data: v.value }]));
  const run: StoredRun = {
    position: contents.position,
    history: contents.history,
    epochSums: contents.epochSums,
    optimizers: Object.fromEntries(Object.entries(state.optimizers).map(([name, o]) => [name, o.iterations])),
    rngs: Object.fromEntries(Object.entries(state.rngs ?? {}).map(([name, rng]) => [name, rng.state])),
    meta: contents.meta,
  };
  await writeSafetensors(path, tensors, { format: FORMAT, version: String(VERSION), run: JSON.stringify(run) });
}

/** The stored run without touching any variable: for checking settings before building a model. */
export async function readCheckpointRun(path: string, legacy?: LegacyReader): Promise<StoredRun> {
  let metadata: Record<string, string>;
  try {
    metadata = (await readSafetensorsHeader(path)).metadata;
  } catch (err) {
    throw new CheckpointError(path, `cannot read the checkpoint: ${(err as Error).message}`);
  }
  if (metadata.format !== FORMAT) {
    const converted = legacy?.(metadata);
    if (converted) return converted;
    throw new CheckpointError(path, `not a Forja checkpoint (its metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  }
  if (metadata.version !== String(VERSION)) {
    throw new CheckpointError(path, `checkpoint version ${metadata.version} is not supported (this Forja reads version ${VERSION})`);
  }
  let run: unknown;
  try {
    run = JSON.parse(metadata.run ?? '');
  } catch {
    throw new CheckpointError(path, 'the checkpoint metadata is corrupt (run is not JSON)');
  }
  if (!isStoredRun(run)) throw new CheckpointError(path, `the checkpoint metadata is incomplete: ${(metadata.run ?? '').slice(0, 200)}`);
  return run;
}

/**
 * Put a checkpoint back into `state`: names and shapes must match exactly and
 * are all checked before anything is assigned, so a wrong file changes nothing.
 */
export async function readCheckpoint(path: string, state: TrainingState, legacy?: LegacyReader): Promise<StoredRun> {
  const run = await readCheckpointRun(path, legacy);
  for (const name of Object.keys(state.optimizers)) {
    if (!(name in run.optimizers)) throw new CheckpointError(path, `the checkpoint has no step count for optimizer '${name}'`);
  }
  for (const name of Object.keys(state.rngs ?? {})) {
    if (!Number.isInteger(run.rngs[name])) throw new CheckpointError(path, `the checkpoint has no state for random stream '${name}'`);
  }
  try {
    assignTensors(state.variables, await readSafetensors(path), 'restore checkpoint', path);
  } catch (err) {
    throw new CheckpointError(path, (err as Error).message);
  }
  for (const [name, optimizer] of Object.entries(state.optimizers)) optimizer.iterations = run.optimizers[name] ?? 0;
  for (const [name, rng] of Object.entries(state.rngs ?? {})) rng.state = run.rngs[name]!;
  return run;
}

function isStoredRun(x: unknown): x is StoredRun {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Partial<StoredRun>;
  const p = r.position;
  return (
    typeof p === 'object' && p !== null &&
    [p.epoch, p.step, p.globalStep].every((n) => Number.isInteger(n) && n >= 0) &&
    Array.isArray(r.history) &&
    typeof r.epochSums?.weight === 'number' &&
    typeof r.optimizers === 'object' && r.optimizers !== null &&
    typeof r.rngs === 'object' && r.rngs !== null &&
    typeof r.meta === 'object' && r.meta !== null
  );
}
