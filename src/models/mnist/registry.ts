/** Every MNIST model spec by its CLI name, and loading a trained run by its directory. */
import { autoencoder } from './autoencoder.js';
import { convAutoencoder } from './conv-autoencoder.js';
import { dcgan } from './dcgan.js';
import { diffusion } from './diffusion/model.js';
import { gan } from './gan.js';
import { vae } from './vae.js';
import { readRunInfo } from './run.js';
import type { MnistModel, MnistModelName, MnistModelSpec } from './spec.js';

export const mnistModels: Record<MnistModelName, MnistModelSpec> = {
  autoencoder,
  'conv-autoencoder': convAutoencoder,
  vae,
  gan,
  dcgan,
  diffusion,
};

export function isMnistModelName(name: string): name is MnistModelName {
  return Object.hasOwn(mnistModels, name);
}

/** The model trained in run directory `dir` (written by `forja train`). */
export async function loadRunModel(dir: string): Promise<MnistModel> {
  const { model: name } = await readRunInfo(dir);
  if (!isMnistModelName(name)) throw new Error(`${dir} holds a '${name}' run; known models: ${Object.keys(mnistModels).join(', ')}`);
  return mnistModels[name].load(dir);
}
