import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { createLora, type LoraModel } from '../../../src/models/lora/adapter.js';
import { LoraError } from '../../../src/models/lora/errors.js';
import { loadLoraAdapter } from '../../../src/models/lora/peft-io.js';
import { AdapterSwitch } from '../../../src/models/lora/switch.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { assertClose, fullForward } from '../../helpers/causal-lm.js';
import { ADAPTER_DIR, gpt2Tiny, IDS, logitsOf } from './helpers.js';

describe('AdapterSwitch', () => {
  let base: CausalLmModel;
  let peft: LoraModel;
  let mine: LoraModel;
  let sw: AdapterSwitch;
  before(async () => {
    base = (await gpt2Tiny()).model;
    peft = await loadLoraAdapter(ADAPTER_DIR, base);
    // Another rank and another module: the slots take the union, at the larger rank.
    mine = createLora(base, { r: 2, lora_alpha: 6, target_modules: ['c_fc', 'c_attn'], init_lora_weights: false }, { seed: 8 });
    sw = await AdapterSwitch.create(base, { peft, mine });
  });
  after(() => sw?.release());

  test('each adapter, and the bare base, gives its own logits from the one session', async () => {
    assert.equal(sw.rank, 4);
    assert.deepEqual(sw.names, ['peft', 'mine']);
    assertClose((await fullForward(sw.model('peft'), IDS)).logits, await logitsOf(peft), 1e-5, 'peft');
    assertClose((await fullForward(sw.model('mine'), IDS)).logits, await logitsOf(mine), 1e-5, 'mine');
    assertClose((await fullForward(sw.model(null), IDS)).logits, await logitsOf(base), 1e-5, 'base');
    assertClose((await fullForward(sw.model('peft'), IDS)).logits, await logitsOf(peft), 1e-5, 'peft again, after switching away');
  });

  test('generations with different adapters interleave: each forward runs with its own adapter', async () => {
    const [a, b, c] = await Promise.all([fullForward(sw.model('mine'), IDS), fullForward(sw.model('peft'), IDS), fullForward(sw.model('mine'), IDS)]);
    assertClose(a.logits, await logitsOf(mine), 1e-5, 'mine');
    assertClose(b.logits, await logitsOf(peft), 1e-5, 'peft');
    assert.deepEqual(c.logits, a.logits);
  });

  test('a switch is a pointer swap per adapted module: far below a millisecond', () => {
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) sw.use(i % 2 ? 'peft' : 'mine');
    const perSwitch = (performance.now() - t0) / 100;
    assert.ok(perSwitch < 1, `${perSwitch} ms per switch`);
    assert.equal(sw.active, 'peft');
  });

  test('an adapter that fits the slots can be added later; others are refused saying why', async () => {
    sw.add('late', createLora(base, { r: 3, target_modules: ['mlp.c_proj'], init_lora_weights: false }, { seed: 2 }));
    assert.ok(sw.names.includes('late'));
    const refuses = (fn: () => void, message: RegExp) => assert.throws(fn, (err: unknown) => err instanceof LoraError && message.test(err.message));
    refuses(() => sw.add('wide', createLora(base, { r: 8 })), /rank 8 at transformer\.h\.0\.attn\.c_attn, above the session's 4/);
    refuses(() => sw.add('head', createLora(base, { r: 2, target_modules: ['lm_head'] })), /adapts lm_head, which no adapter the session was compiled for adapts/);
    refuses(() => sw.add('tokens', createLora(base, { r: 2 }, { vocabSize: 50259 })), /trains modules_to_save \(transformer\.wte, lm_head\).*mergeAndUnload/);
    const otherBase = (await gpt2Tiny()).model;
    refuses(() => sw.add('other', createLora(otherBase, { r: 2 })), /loaded onto another base model object/);
    refuses(() => sw.add('peft', peft), /already registered/);
    refuses(() => sw.model('nope'), /no adapter named "nope" \(registered: peft, mine, late\)/);
  });
});
