/**
 * A run directory rewritten in the layout of the GPT runner Forja had before
 * checkpoint.safetensors, exactly as that runner wrote it: trainer_state.json
 * {format, version, step, settings (no architecture), tokenizer, data, history
 * of {step, trainLoss, valLoss}, plus one row when it was interrupted
 * mid-interval} and optimizer.safetensors (the AdamW moments by slot name).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { CHECKPOINT_FILE, readLmRun } from '../../src/models/lm/checkpoint.js';
import { LEGACY_FILES } from '../../src/models/lm/legacy.js';

export async function rewriteAsLegacyGptRun(dir: string): Promise<void> {
  const run = await readLmRun(dir);
  if (!run) throw new Error(`${dir} holds no run to rewrite`);
  const tensors = await readSafetensors(join(dir, CHECKPOINT_FILE));
  await writeSafetensors(join(dir, LEGACY_FILES.optimizer), new Map([...tensors].filter(([name]) => name.startsWith('AdamW/'))), { format: 'pt' });
  const { architecture: _, ...settings } = run.meta.settings;
  const step = run.position.globalStep;
  const history = run.history.map((h) => ({ step: (h.epoch + 1) * settings.evalInterval, trainLoss: h.train_loss, valLoss: h.val_loss }));
  if (step % settings.evalInterval !== 0) history.push({ step, trainLoss: 3.1, valLoss: 3.2 }); // the old runner evaluated when interrupted
  const state = { format: 'forja-lm-training', version: 1, step, settings, tokenizer: run.meta.tokenizer, data: run.meta.data, history };
  await writeFile(join(dir, LEGACY_FILES.state), JSON.stringify(state, null, 2));
  await rm(join(dir, CHECKPOINT_FILE));
  await rm(join(dir, 'loss.csv'), { force: true });
}
