import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fullMatcher, loraConfig, loraConfigJson, moduleScaling, parseLoraConfig } from '../../../src/models/lora/config.js';
import { LoraConfigError } from '../../../src/models/lora/errors.js';
import { fixturePath } from '../../helpers/fixtures.js';

const FIXTURE_CONFIG = JSON.parse(readFileSync(fixturePath('gpt2-tiny-lora', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;

const refuses = (fn: () => unknown, key: string, message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof LoraConfigError && err.key === key && message.test(err.message));

describe('LoraConfig', () => {
  test("defaults are PEFT's LoraConfig defaults", () => {
    const c = loraConfig();
    assert.deepEqual(
      { r: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, targets: c.target_modules, fanInFanOut: c.fan_in_fan_out, rslora: c.use_rslora, save: c.modules_to_save, bias: c.bias, init: c.init_lora_weights },
      { r: 8, alpha: 8, dropout: 0, targets: null, fanInFanOut: false, rslora: false, save: null, bias: 'none', init: true },
    );
    assert.equal(c.peft_type, 'LORA');
    assert.equal(c.task_type, 'CAUSAL_LM');
  });

  test("adapter_config.json is written with exactly PEFT 0.21's keys, and the fixture's config round-trips", () => {
    const json = loraConfigJson(parseLoraConfig(FIXTURE_CONFIG, 'fixture'));
    assert.deepEqual(Object.keys(json).sort(), Object.keys(FIXTURE_CONFIG).sort());
    // PEFT writes target_modules from a set (any order); Forja sorts them.
    assert.deepEqual({ ...json, target_modules: null }, { ...FIXTURE_CONFIG, target_modules: null });
    assert.deepEqual(json.target_modules, [...(FIXTURE_CONFIG.target_modules as string[])].sort());
  });

  test('a regex target_modules stays a string, "all-linear" is kept as PEFT spells it', () => {
    assert.equal(loraConfig({ target_modules: '.*\\.attn\\.c_attn' }).target_modules, '.*\\.attn\\.c_attn');
    assert.equal(loraConfig({ target_modules: 'ALL-LINEAR' }).target_modules, 'all-linear');
  });

  test('bad values are refused naming the key and the value', () => {
    refuses(() => loraConfig({ bias: 'all' as 'none' }), 'bias', /bias "all" is not supported: only "none"/);
    refuses(() => loraConfig({ r: 0 }), 'r', /r must be a positive integer, received 0/);
    refuses(() => loraConfig({ r: 2.5 }), 'r', /received 2\.5/);
    refuses(() => loraConfig({ lora_alpha: -1 }), 'lora_alpha', /positive number, received -1/);
    refuses(() => loraConfig({ lora_dropout: 1 }), 'lora_dropout', /lora_dropout must be in \[0, 1\), received 1/);
    refuses(() => loraConfig({ target_modules: [] }), 'target_modules', /non-empty list of module names, received \[\]/);
    refuses(() => loraConfig({ target_modules: '(c_attn' }), 'target_modules', /target_modules "\(c_attn" is not a valid regular expression/);
    refuses(() => loraConfig({ modules_to_save: [''] }), 'modules_to_save', /non-empty list/);
    refuses(() => loraConfig({ init_lora_weights: 'pissa' as 'gaussian' }), 'init_lora_weights', /"pissa" is not supported/);
    refuses(() => loraConfig({ use_rslora: true, rank_pattern: { c_attn: 4 } }), 'use_rslora', /cannot be combined with rank_pattern/);
    refuses(() => loraConfig({ peft_type: 'IA3' as 'LORA' }), 'peft_type', /"IA3" is not supported/);
  });

  test('an adapter_config.json using a feature Forja does not implement is refused naming the file, the key and the feature', () => {
    refuses(() => parseLoraConfig({ ...FIXTURE_CONFIG, use_dora: true }, '/a/adapter_config.json'), 'use_dora', /^\/a\/adapter_config\.json: use_dora = true is not supported \(DoRA\)$/);
    refuses(() => parseLoraConfig({ ...FIXTURE_CONFIG, layers_to_transform: [0] }, 'f'), 'layers_to_transform', /adapting only some layers/);
    refuses(() => parseLoraConfig({ ...FIXTURE_CONFIG, bias: 'lora_only' }, 'f'), 'bias', /^f: bias "lora_only" is not supported/);
    refuses(() => parseLoraConfig({ ...FIXTURE_CONFIG, task_type: 'SEQ_CLS' }, 'f'), 'task_type', /"SEQ_CLS"/);
    // Keys of newer PEFT versions are ignored, as PEFT ignores unknown keys; task_type null is PeftModel's.
    assert.equal(parseLoraConfig({ ...FIXTURE_CONFIG, some_future_key: 1, task_type: null }, 'f').r, 4);
  });

  test('scaling is alpha / r, alpha / √r with use_rslora, and rank_pattern / alpha_pattern apply by name suffix', () => {
    assert.equal(moduleScaling(loraConfig({ r: 4, lora_alpha: 8 }), 'transformer.h.0.attn.c_attn').scale, 2);
    assert.equal(moduleScaling(loraConfig({ r: 4, lora_alpha: 8, use_rslora: true }), 'x.c_attn').scale, 4);
    const c = loraConfig({ r: 4, lora_alpha: 8, rank_pattern: { 'h.0.attn.c_attn': 16 }, alpha_pattern: { c_proj: 2 } });
    assert.deepEqual(moduleScaling(c, 'transformer.h.0.attn.c_attn'), { r: 16, alpha: 8, scale: 0.5 });
    assert.deepEqual(moduleScaling(c, 'transformer.h.1.attn.c_attn'), { r: 4, alpha: 8, scale: 2 });
    assert.deepEqual(moduleScaling(c, 'transformer.h.1.mlp.c_proj'), { r: 4, alpha: 2, scale: 0.5 });
    // A suffix must start after a dot: "proj" does not name "c_proj".
    assert.equal(moduleScaling(loraConfig({ r: 4, rank_pattern: { proj: 2 } }), 'transformer.h.1.mlp.c_proj').r, 4);
  });

  test("regex strings match the whole name, as Python's re.fullmatch, with Python's named groups", () => {
    assert.ok(fullMatcher('target_modules', 'c_attn').test('c_attn'));
    assert.ok(!fullMatcher('target_modules', 'c_attn').test('transformer.h.0.attn.c_attn'));
    assert.ok(fullMatcher('target_modules', '.*h\\.(?P<layer>0)\\.attn\\.c_attn').test('transformer.h.0.attn.c_attn'));
  });
});
