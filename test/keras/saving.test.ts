import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { HostTensor, input, layers, loadModel, model, saveModel, sequential, Sequential, Functional } from '../../src/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-saving-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const x = new HostTensor(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), [3, 4]);

describe('saveModel / loadModel', () => {
  test('a functional model round-trips: topology, configs, weights, outputs', async () => {
    const inp = input({ shape: [4] });
    const shared = layers.dense({ units: 4, activation: 'tanh' });
    const h = shared.apply(shared.apply(inp));
    const out = layers.dense({ units: 2, activation: 'softmax' }).apply(layers.dropout({ rate: 0.3 }).apply(h));
    const m = model({ inputs: inp, outputs: out, name: 'round_trip' });
    const path = join(dir, 'functional');
    await saveModel(m, path);
    const loaded = await loadModel(path);
    assert.ok(loaded instanceof Functional);
    assert.equal(loaded.name, 'round_trip');
    assert.deepEqual(loaded.getConfig(), m.getConfig());
    assert.deepEqual((await loaded.predict(x)).toArray(), (await m.predict(x)).toArray());
    const config = JSON.parse(await readFile(join(path, 'config.json'), 'utf8'));
    assert.equal(config.className, 'Functional');
    assert.deepEqual(config.config.layers[1].inboundNodes, [[[inp.producer.layer.name, 0, 0]], [[shared.name, 0, 0]]]);
  });

  test('a nested Sequential (GAN) round-trips with path-keyed weights', async () => {
    const g = sequential([layers.dense({ units: 3, inputShape: [2] }), layers.leakyReLU({ alpha: 0.01 })], { name: 'gen' });
    const d = sequential([layers.dense({ units: 1, inputShape: [3], activation: 'sigmoid' })], { name: 'disc' });
    const gan = sequential([g, d], { name: 'gan' });
    const path = join(dir, 'gan');
    await saveModel(gan, path);
    const loaded = await loadModel(path);
    assert.ok(loaded instanceof Sequential);
    const z = new HostTensor(Float32Array.from([0.5, -1, 2, 0.25]), [2, 2]);
    assert.deepEqual((await loaded.predict(z)).toArray(), (await gan.predict(z)).toArray());
    const header = await readFile(join(path, 'model.safetensors'));
    const names = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString())).filter((k) => k !== '__metadata__');
    assert.deepEqual(names.sort(), [`disc/${d.layers[0]!.name}/bias`, `disc/${d.layers[0]!.name}/kernel`, `gen/${g.layers[0]!.name}/bias`, `gen/${g.layers[0]!.name}/kernel`].sort());
  });

  test('a missing weights file is an error naming it', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [2] })]);
    const path = join(dir, 'missing');
    await saveModel(m, path);
    await rm(join(path, 'model.safetensors'));
    await assert.rejects(loadModel(path), new RegExp(`cannot read weights ${join(path, 'model.safetensors').replace(/[/\\]/g, '.')}`));
  });

  test('a corrupt weights file is an error naming it', async () => {
    const m = sequential([layers.dense({ units: 1, inputShape: [2] })]);
    const path = join(dir, 'corrupt');
    await saveModel(m, path);
    await writeFile(join(path, 'model.safetensors'), Buffer.from('not a safetensors file at all'));
    await assert.rejects(loadModel(path), /loadWeights: cannot read weights .*corrupt.model\.safetensors/);
  });

  test('a config/weights mismatch names the tensor and both shapes', async () => {
    const m = sequential([layers.dense({ units: 2, inputShape: [3], name: 'mismatched' })]);
    const path = join(dir, 'mismatch');
    await saveModel(m, path);
    await writeSafetensors(join(path, 'model.safetensors'), {
      'mismatched/kernel': { shape: [4, 2], data: new Float32Array(8) },
      'mismatched/bias': { shape: [2], data: new Float32Array(2) },
    });
    await assert.rejects(loadModel(path), /tensor 'mismatched\/kernel' has shape \[4, 2\] in .* but the model expects \[3, 2\]/);
  });

  test('a corrupt config is an error naming the file', async () => {
    const path = join(dir, 'badconfig');
    await saveModel(sequential([layers.dense({ units: 1, inputShape: [1] })]), path);
    await writeFile(join(path, 'config.json'), '{ "format": ');
    await assert.rejects(loadModel(path), /badconfig.config\.json is not valid JSON/);
  });
});
