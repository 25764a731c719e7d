import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dense } from '../../src/nn/layers/dense.js';
import '../../src/nn/layers/index.js';
import { deserializeLayer, registerLayer, serializeLayer } from '../../src/nn/registry.js';

test('a layer round-trips through serializeLayer and deserializeLayer', () => {
  const d = new Dense({ units: 5, activation: 'relu', useBias: false });
  const entry = serializeLayer(d);
  assert.equal(entry.className, 'Dense');
  assert.deepEqual(entry.config, d.getConfig());
  const back = deserializeLayer(JSON.parse(JSON.stringify(entry)), 'model.json');
  assert.ok(back instanceof Dense);
  assert.equal(back.units, 5);
  assert.deepEqual(back.getConfig(), d.getConfig());
  assert.notEqual(back, d);
});

test('an unknown class names the file and lists the registered ones; a class registers once', () => {
  assert.throws(() => deserializeLayer({ className: 'Attention', config: { name: 'att' } }, 'runs/x/model.json'), /runs\/x\/model\.json: unknown layer class 'Attention'; registered: (\w+, )*Dense, /);
  assert.throws(() => registerLayer('Dense', () => new Dense({ units: 1 })), /registerLayer: 'Dense' is registered twice/);
});
