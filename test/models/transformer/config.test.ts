import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { architectureOf, ConfigError, ConfigReader } from '../../../src/models/transformer/config.js';

const WHERE = 'TestLM config.json';
const reader = (json: Record<string, unknown>) => new ConfigReader(json, WHERE);

/** The thrown error is a ConfigError whose message matches `message`. */
const configError = (message: RegExp) => (e: unknown) => e instanceof ConfigError && message.test(e.message);

describe('ConfigReader', () => {
  test('reads present values and falls back when a key is absent or null', () => {
    const c = reader({ n: 12, eps: 1e-5, flag: true, act: 'silu', nothing: null });
    assert.equal(c.int('n'), 12);
    assert.equal(c.int('nothing', 7), 7);
    assert.equal(c.int('absent', 3), 3);
    assert.equal(c.number('eps'), 1e-5);
    assert.equal(c.number('nothing', 0.5), 0.5);
    assert.equal(c.bool('flag', false), true);
    assert.equal(c.bool('absent', false), false);
    assert.equal(c.string('act'), 'silu');
    assert.equal(c.string('nothing', 'gelu'), 'gelu');
    assert.equal(c.has('n'), true);
    assert.equal(c.has('nothing'), false, 'null counts as absent');
    assert.equal(c.has('absent'), false);
  });

  test('int: every bad value names the config, the key and what was received', () => {
    const c = reader({ zero: 0, half: 2.5, text: '12', neg: -4 });
    assert.throws(() => c.int('zero'), configError(/^TestLM config\.json: "zero" must be a positive integer, received 0$/));
    assert.throws(() => c.int('half'), configError(/"half" must be a positive integer, received 2\.5$/));
    assert.throws(() => c.int('text'), configError(/"text" must be a positive integer, received "12"$/));
    assert.throws(() => c.int('neg'), configError(/"neg" must be a positive integer, received -4$/));
    assert.throws(() => c.int('missing'), configError(/"missing" must be a positive integer, received nothing$/));
  });

  test('number, bool and string reject the wrong type', () => {
    const c = reader({ inf: 'Infinity', yes: 'true', name: 3 });
    assert.throws(() => c.number('inf'), configError(/"inf" must be a number, received "Infinity"/));
    assert.throws(() => c.number('missing'), configError(/"missing" must be a number, received nothing/));
    assert.throws(() => c.bool('yes', false), configError(/"yes" must be true or false, received "true"/));
    assert.throws(() => c.string('name'), configError(/"name" must be a string, received 3/));
  });

  test('object: a nested reader whose errors name the parent key', () => {
    const c = reader({ rope_parameters: { rope_theta: 'big' }, list: [1], scalar: 5 });
    const nested = c.object('rope_parameters')!;
    assert.equal(nested.where, `${WHERE} "rope_parameters"`);
    assert.throws(() => nested.number('rope_theta'), configError(/^TestLM config\.json "rope_parameters": "rope_theta" must be a number, received "big"$/));
    assert.equal(c.object('absent'), undefined);
    assert.equal(reader({ n: null }).object('n'), undefined);
    assert.throws(() => c.object('list'), configError(/"list" must be an object, received \[1\]/));
    assert.throws(() => c.object('scalar'), configError(/"scalar" must be an object, received 5/));
  });

  test('require: allowed values (or the fallback) pass; anything else lists the supported ones', () => {
    const c = reader({ act: 'gelu', tp: 2 });
    c.require('act', ['gelu', 'relu']);
    c.require('absent', [false], false);
    assert.throws(() => c.require('act', ['relu', 'silu']), configError(/"act" = "gelu" is not supported \(supported: "relu", "silu"\)/));
    assert.throws(() => c.require('tp', [1], 1), configError(/"tp" = 2 is not supported \(supported: 1\)/));
    assert.throws(() => c.require('absent', [true]), configError(/"absent" = nothing is not supported/));
  });
});

describe('architectureOf', () => {
  test('the first entry of "architectures"', () => {
    assert.equal(architectureOf({ architectures: ['LlamaForCausalLM', 'Other'] }, 'x'), 'LlamaForCausalLM');
  });

  test('a missing or malformed list names the file and what it held', () => {
    assert.throws(() => architectureOf({}, 'dir/config.json'), configError(/^dir\/config\.json: config\.json has no "architectures" list, received nothing$/));
    assert.throws(() => architectureOf({ architectures: 'GPT2LMHeadModel' }, 'c'), configError(/received "GPT2LMHeadModel"/));
    assert.throws(() => architectureOf({ architectures: [] }, 'c'), configError(/received \[\]/));
    assert.throws(() => architectureOf({ architectures: [3] }, 'c'), configError(/received \[3\]/));
  });
});
