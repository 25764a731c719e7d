/**
 * run.json of a `forja train` MNIST run: the settings, the per-epoch history
 * and, once the run has finished and written its pictures, the result.
 * `forja sample` and `forja eval` read it to know which model a directory holds.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Position } from '../../train/index.js';
import type { MnistModelName } from './spec.js';

export const RUN_FILE = 'run.json';
export const RUN_FORMAT = 'forja-mnist-run';

export interface RunSettings {
  model: MnistModelName;
  epochs: number;
  seed: number;
  batchSize: number;
  lr: number;
  /** Train on only the first `limit` digits (quick tests); null: all. */
  limit: number | null;
}

/** The summary of a run (`forja train --json` prints it). */
export interface RunResult {
  model: string;
  /** Epochs completed in total (a resumed run counts the earlier ones). */
  epochs: number;
  /** Epochs the run was asked for. */
  epochsAsked: number;
  /** Mean training loss of the last epoch (the generator's loss for GANs). */
  trainLoss: number;
  /** Held-out loss after the last epoch (see the model's lossDoc). */
  valLoss: number;
  gLoss?: number;
  dLoss?: number;
  /** Wall time of this process's run: compiling, training, validation, checkpoints and pictures. */
  seconds: number;
  /** Time spent in training steps in this process (what samplesPerSecond divides by). */
  trainSeconds: number;
  /** Training rows over trainSeconds. */
  samplesPerSecond: number;
  out: string;
  /** Stopped by the caller's signal before the last epoch: resume to finish. */
  interrupted: boolean;
  /** Where the run stands (0-based epoch and step within it). */
  position: Position;
}

export interface RunFile {
  format: string;
  model: string;
  settings: RunSettings;
  /** Epochs counted from 1. */
  history: Record<string, number>[];
  result?: RunResult;
}

/** What a run directory's run.json says: the model and the seed it was trained with. */
export interface RunInfo {
  model: string;
  seed: number;
}

/** A directory that is not a `forja train` run, or whose run.json is unreadable. */
export class RunFileError extends Error {
  override name = 'RunFileError';
  constructor(
    readonly path: string,
    readonly reason: 'missing' | 'unreadable' | 'corrupt',
    message: string,
  ) {
    super(message);
  }
}

export async function readRunFile(dir: string): Promise<RunFile> {
  const path = join(dir, RUN_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RunFileError(path, missing ? 'missing' : 'unreadable', missing ? `${dir} is not a forja train run directory: ${path} is missing` : `cannot read ${path}: ${(err as Error).message}`);
  }
  let run: unknown;
  try {
    run = JSON.parse(text);
  } catch (err) {
    throw new RunFileError(path, 'corrupt', `${path} is corrupt (not valid JSON): ${(err as Error).message}`);
  }
  const fields = run as Partial<RunFile> | null;
  if (fields?.format !== RUN_FORMAT || typeof fields.model !== 'string' || typeof fields.settings?.seed !== 'number') {
    throw new RunFileError(path, 'corrupt', `${path} is not a forja train run file (expected "format": "${RUN_FORMAT}", a model name and settings)`);
  }
  return fields as RunFile;
}

/** Reads run.json of a `forja train` directory, with errors naming the missing or corrupt file. */
export async function readRunInfo(dir: string): Promise<RunInfo> {
  const run = await readRunFile(dir);
  return { model: run.model, seed: run.settings.seed };
}
