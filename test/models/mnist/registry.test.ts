import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMnistModelName, loadRunModel, mnistModels } from '../../../src/models/mnist/registry.js';
import { RUN_FILE, RUN_FORMAT } from '../../../src/models/mnist/run-file.js';

test('the registry lists the six MNIST models by CLI name', () => {
  assert.deepEqual(Object.keys(mnistModels).sort(), ['autoencoder', 'conv-autoencoder', 'dcgan', 'diffusion', 'gan', 'vae']);
  assert.equal(isMnistModelName('vae'), true);
  assert.equal(isMnistModelName('toString'), false);
  assert.equal(isMnistModelName('VAE'), false);
});

test('loadRunModel refuses a run of an unknown model, listing the known ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forja-registry-'));
  try {
    await writeFile(join(dir, RUN_FILE), JSON.stringify({ format: RUN_FORMAT, model: 'unet', settings: { seed: 1 }, history: [] }));
    await assert.rejects(loadRunModel(dir), new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds a 'unet' run; known models: autoencoder, conv-autoencoder, vae, gan, dcgan, diffusion`));
    await assert.rejects(loadRunModel(join(dir, 'nowhere')), /is not a forja train run directory/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
