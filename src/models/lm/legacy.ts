/**
 * GPT runs saved before the one checkpoint format: the Hugging Face files
 * plus trainer_state.json (format "forja-lm-training": step, settings,
 * tokenizer kind, data fingerprint, one {step, trainLoss, valLoss} per
 * evaluation) and optimizer.safetensors (AdamW moments by slot name). They
 * are converted on read; the first save of the resumed run writes
 * checkpoint.safetensors and removes these two files.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonObject } from '../../io/hf-checkpoint.js';
import { recoverInterruptedSave } from '../../io/hf-save.js';
import { loadF32 } from '../../io/safetensors.js';
import { assignTensors } from '../../nn/index.js';
import { CheckpointError } from '../../train/errors.js';
import type { Trainer } from '../../train/trainer.js';
import type { SavedLmRun } from './checkpoint.js';
import { LM_DEFAULTS, type LmTrainSettings } from './settings.js';
import { LM_RUN_KIND, type LmTask } from './task.js';

export const LEGACY_FILES = { state: 'trainer_state.json', optimizer: 'optimizer.safetensors' } as const;

interface LegacyState {
  format: 'forja-lm-training';
  step: number;
  settings: Omit<LmTrainSettings, 'architecture'>;
  tokenizer: 'char' | 'pretrained';
  data: { sha256: string; characters: number };
  history: { step: number; trainLoss: number; valLoss: number }[];
}

export async function readLegacyRun(dir: string): Promise<SavedLmRun | undefined> {
  await recoverInterruptedSave(dir); // the old saves swapped whole directories
  const path = join(dir, LEGACY_FILES.state);
  if (!existsSync(path)) return undefined;
  const state = (await readJsonObject(path, true)) as unknown as LegacyState;
  if (state.format !== 'forja-lm-training' || !Number.isInteger(state.step) || typeof state.settings !== 'object' || !Array.isArray(state.history)) {
    throw new CheckpointError(path, `not a Forja GPT training state (format ${JSON.stringify(state.format)})`);
  }
  // The old runner trained GPT-2 only.
  const settings: LmTrainSettings = { ...LM_DEFAULTS, ...state.settings, architecture: 'gpt2' };
  const interval = settings.evalInterval;
  return {
    meta: { kind: LM_RUN_KIND, settings, tokenizer: state.tokenizer, data: state.data },
    position: { epoch: Math.floor(state.step / interval), step: state.step % interval, globalStep: state.step },
    // Evaluations at interval ends are epoch ends; one made at an interruption is not.
    history: state.history.filter((h) => h.step % interval === 0).map((h) => ({ epoch: h.step / interval - 1, train_loss: h.trainLoss, val_loss: h.valLoss })),
    format: 'legacy',
  };
}

/** Put a legacy run's moments, step and history into a task built over its model.safetensors. */
export async function restoreLegacyRun(dir: string, run: SavedLmRun, task: LmTask, trainer: Trainer): Promise<void> {
  const path = join(dir, LEGACY_FILES.optimizer);
  try {
    assignTensors(new Map(task.optimizer.variables.map((v) => [v.name, v])), await loadF32(path), 'restore optimizer state', path);
  } catch (err) {
    throw new CheckpointError(path, (err as Error).message);
  }
  task.optimizer.iterations = run.position.globalStep;
  trainer.position = { ...run.position };
  trainer.history.restore(run.history);
}

/** Once checkpoint.safetensors holds the run, the old state files only mislead. */
export async function removeLegacyFiles(dir: string): Promise<void> {
  for (const name of Object.values(LEGACY_FILES)) await rm(join(dir, name), { force: true });
}
