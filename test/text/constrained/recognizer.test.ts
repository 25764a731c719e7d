import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { Rng } from '../../../src/core/rng.js';
import { JsonRecognizer } from '../../../src/text/constrained/recognizer.js';
import { compileSchema } from '../../../src/text/constrained/schema.js';

const anyObject = new JsonRecognizer();
const withSchema = (schema: unknown, limits = {}): JsonRecognizer => new JsonRecognizer(compileSchema(schema), limits);

function check(r: JsonRecognizer, valid: readonly string[], invalid: readonly string[]): void {
  for (const t of valid) assert.ok(r.accepts(t), `should accept ${JSON.stringify(t)}`);
  for (const t of invalid) assert.ok(!r.accepts(t), `should reject ${JSON.stringify(t)}`);
}

describe('JsonRecognizer: any JSON object (json_object mode)', () => {
  test('values, nesting and whitespace', () => {
    check(
      anyObject,
      ['{}', '{"a":1}', ' {"a" : [1, [2, [3, []]], {"b": null}], "c": {"d": {}}}', '{"t":true,"f":false,"n":null}', '{\n  "a": "x"\n}'],
      ['', '[]', '"a"', '1', 'null', '{', '{"a"}', '{"a":}', '{a:1}', "{'a':1}", '{"a":1,}', '{,}', '{"a":1 "b":2}', '{"a":[1,]}', '{"a":tru}', '{"a":nul}', '{} ', '{}{}'],
    );
  });

  test('numbers: signs, leading zeros, fractions and exponents', () => {
    const ok = ['0', '-0', '12', '-12', '0.5', '-0.25', '1e5', '1E+5', '1e-05', '2.5E3', '0e0', '9.99e99'];
    const bad = ['1e308', '1e100', '01', '-01', '00', '+1', '.5', '1.', '1.e5', '1e', '1e+', '-', '--1', '0x10', '1ee5', 'NaN', 'Infinity', '-Infinity'];
    check(anyObject, ok.map((n) => `{"n":${n}}`), bad.map((n) => `{"n":${n}}`));
  });

  test('strings: escapes, \\u sequences, UTF-8 and control bytes', () => {
    const ok = ['""', '"a\\"b"', '"\\\\"', '"\\/\\b\\f\\n\\r\\t"', '"\\u00e9"', '"\\uD83D\\uDE00"', '"\\uABCD\\uabcd"', '"é ü 日本 😀"'];
    const bad = ['"\\x41"', '"\\u12"', '"\\u12G4"', '"\\a"', '"\n"', '"\t"', '"\u0001"', '"abc', '"\\"'];
    check(anyObject, ok.map((s) => `{"s":${s}}`), bad.map((s) => `{"s":${s}}`));
    const bytes = (list: number[]): Uint8Array => Uint8Array.from([...Buffer.from('{"s":"'), ...list, ...Buffer.from('"}')]);
    const accepts = (list: number[]): boolean => anyObject.isComplete(anyObject.stepBytes(anyObject.initial, bytes(list)));
    assert.ok(accepts([0xc3, 0xa9]), 'é as UTF-8');
    assert.ok(accepts([0xf0, 0x9f, 0x98, 0x80]), '😀 as UTF-8');
    for (const bad of [[0xc3], [0x80], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
      assert.ok(!accepts(bad), `invalid UTF-8 ${bad.map((b) => b.toString(16)).join(' ')}`);
    }
  });

  test('duplicate keys are rejected, also when spelled with escapes', () => {
    check(anyObject, ['{"a":1,"b":{"a":2}}', '{"a":1,"ab":2}'], ['{"a":1,"a":2}', '{"a":1,"b":2,"a":3}', '{"a":1,"\\u0061":2}']);
  });

  test('prefixes: every prefix of a valid text is alive and incomplete, the whole is complete', () => {
    const text = '{"a": [1.5e3, "x\\u00e9", {"b": [true, null]}], "c": -0}';
    for (let i = 0; i < text.length; i++) {
      assert.ok(anyObject.acceptsPrefix(text.slice(0, i)), `prefix ${JSON.stringify(text.slice(0, i))}`);
      assert.ok(!anyObject.accepts(text.slice(0, i)));
    }
    assert.ok(anyObject.accepts(text));
  });

  test('whitespace runs are capped so generation ends', () => {
    const r = new JsonRecognizer(undefined, { maxWhitespace: 3 });
    check(r, ['{   "a"   :   1   }', '   {}'], ['{    "a":1}', '    {}', '{"a":    1}', '{"a":1    }']);
  });

  test('numbers are capped in length', () => {
    const r = new JsonRecognizer(undefined, { maxNumberLength: 5 });
    check(r, ['{"n":12345}', '{"n":1.2e4}'], ['{"n":123456}']);
    // Never a dead end at the cap: "1234." cannot be completed within 5 bytes, so "." is refused.
    assert.ok(!r.acceptsPrefix('{"n":1234.'));
    assert.ok(!r.acceptsPrefix('{"n":1234e'));
    assert.ok(r.acceptsPrefix('{"n":123e'), '"123e4" still fits');
  });

  test('differential against JSON.parse: what it accepts parses, random valid texts are accepted', () => {
    const rng = new Rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
    const value = (depth: number): unknown => {
      const k = Math.floor(rng.next() * (depth > 2 ? 4 : 6));
      if (k === 0) return pick(['', 'a', 'é"\\\n', '😀', 'x y']);
      if (k === 1) return pick([0, -1, 3.25, 1e21, -2.5e-7, 123456789]);
      if (k === 2) return pick([true, false]);
      if (k === 3) return null;
      if (k === 4) return Array.from({ length: Math.floor(rng.next() * 3) }, () => value(depth + 1));
      return object(depth + 1);
    };
    const object = (depth: number): Record<string, unknown> =>
      Object.fromEntries(Array.from({ length: Math.floor(rng.next() * 4) }, (_, i) => [`k${i}${pick(['', 'é', '"'])}`, value(depth)]));
    const alphabet = ' {}[]",:0123456789.eE-+tfnrulsa\\\n';
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const text = JSON.stringify(object(0), null, pick([0, 1, 2]));
      if (text.length > 2 && !/\n {13,}/.test(text)) {
        assert.ok(anyObject.accepts(text), `valid ${JSON.stringify(text)}`);
      }
      const at = Math.floor(rng.next() * text.length);
      const mutated = text.slice(0, at) + pick([...alphabet]) + text.slice(at + (rng.next() < 0.5 ? 1 : 0));
      if (anyObject.accepts(mutated)) {
        accepted++;
        const parsed: unknown = JSON.parse(mutated);
        assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), mutated);
      }
    }
    assert.ok(accepted > 20, `only ${accepted} mutations were valid JSON: the test is not exercising acceptance`);
  });
});

describe('JsonRecognizer: schemas', () => {
  test('object: properties, required, additionalProperties false, duplicates', () => {
    const r = withSchema({
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name'],
      additionalProperties: false,
    });
    check(
      r,
      ['{"name":"x"}', '{"age":3,"name":"x"}', '{ "name" : "x" , "age" : -3 }'],
      ['{}', '{"age":3}', '{"name":1}', '{"name":"x","age":3.5}', '{"name":"x","age":1e3}', '{"name":"x","other":1}', '{"name":"x","name":"y"}', '{"name":"x","age":1,}'],
    );
    // After both keys there is nothing left to add: ',' is refused rather than a dead end.
    assert.ok(!r.acceptsPrefix('{"name":"x","age":1,'));
    assert.ok(!r.acceptsPrefix('{"name":"x","name'), 'a used key is refused as soon as no other key can follow');
  });

  test('additionalProperties: absent or true allows any other key, a schema constrains its values', () => {
    const open = withSchema({ type: 'object', properties: { a: { type: 'integer' } } });
    check(open, ['{"a":1,"b":"x","c":[{}]}', '{"b":null}'], ['{"a":"x"}', '{"b":1,"b":2}', '{"a":1,"\\u0061":2}']);
    const typed = withSchema({ type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: { type: 'string' } });
    check(typed, ['{"a":1,"b":"x"}'], ['{"a":1,"b":2}']);
  });

  test('arrays: items, minItems, maxItems, nesting', () => {
    const r = withSchema({ type: 'array', items: { type: 'array', items: { type: 'number' }, maxItems: 2 }, minItems: 1 });
    check(r, ['[[]]', '[[1,2],[3.5]]', '[ [ 1 ] , [ ] ]'], ['[]', '[[1,2,3]]', '[["a"]]', '[1]', '[[1],]']);
    const pair = withSchema({ type: 'array', minItems: 2, maxItems: 2 });
    check(pair, ['[1,"a"]', '[{},[]]'], ['[1]', '[1,2,3]']);
  });

  test('strings: minLength and maxLength count code points as ajv does', () => {
    const r = withSchema({ type: 'string', minLength: 2, maxLength: 3 });
    check(r, ['"ab"', '"abc"', '"é😀"', '"\\n\\t"', '"a\\uD83D\\uDE00"', '"\\u00e9ab"'], ['"a"', '"abcd"', '""', '"😀😀😀😀"', '"ab\\u00e9c"']);
  });

  test('enum and const match their canonical JSON text, filtered by the rest of the schema', () => {
    check(withSchema({ enum: ['red', 'green', 1, 12, null, { a: [1] }] }), ['"red"', '"green"', '1', '12', 'null', '{"a":[1]}'], ['"blue"', '"re"', '2', '123', '{"a":[2]}', 'true']);
    check(withSchema({ const: 'x' }), ['"x"'], ['"y"', '"x" ']);
    check(withSchema({ type: 'string', enum: ['a', 1] }), ['"a"'], ['1']);
    check(withSchema({ type: 'object', properties: { c: { enum: [1, 12] } } }), ['{"c":1}', '{"c":12}', '{"c":1,"d":2}'], ['{"c":2}']);
  });

  test('anyOf and type arrays, with branches that share a prefix', () => {
    const r = withSchema({
      anyOf: [
        { type: 'object', properties: { kind: { const: 'a' }, x: { type: 'integer' } }, required: ['kind', 'x'], additionalProperties: false },
        { type: 'object', properties: { kind: { const: 'b' }, y: { type: 'string' } }, required: ['kind', 'y'], additionalProperties: false },
      ],
    });
    check(r, ['{"kind":"a","x":1}', '{"kind":"b","y":"s"}', '{"x":1,"kind":"a"}'], ['{"kind":"a","y":"s"}', '{"kind":"c","x":1}', '{"kind":"b","x":1}']);
    check(withSchema({ type: ['string', 'null'] }), ['"x"', 'null'], ['1', 'true']);
    check(withSchema({ type: 'boolean' }), ['true', 'false'], ['null', '"true"']);
    check(withSchema({ type: 'number' }), ['1', '-2.5e3'], ['"1"']);
  });

  test('$defs and $ref, recursive', () => {
    const tree = withSchema({
      $defs: {
        node: {
          type: 'object',
          properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['v'],
          additionalProperties: false,
        },
      },
      $ref: '#/$defs/node',
    });
    check(tree, ['{"v":1}', '{"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]}'], ['{"v":1,"kids":[{"w":2}]}', '{"kids":[]}']);
  });

  test('what it accepts, ajv validates (mutations of valid instances)', () => {
    const schema = {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        tags: { type: 'array', items: { type: 'string', maxLength: 3 }, maxItems: 3 },
        kind: { enum: ['x', 'yz'] },
        sub: { anyOf: [{ type: 'null' }, { type: 'object', properties: { q: { type: 'boolean' } }, additionalProperties: false }] },
      },
      required: ['id', 'kind'],
      additionalProperties: false,
    };
    const r = withSchema(schema);
    const validate = new Ajv({ strict: true }).compile(schema);
    const rng = new Rng(3);
    const base = ['{"id":1,"kind":"x"}', '{"id":-20,"kind":"yz","tags":["ab","c"],"sub":null}', '{"kind":"x","id":0,"sub":{"q":true},"tags":[]}'];
    let accepted = 0;
    for (let i = 0; i < 400; i++) {
      const text = base[i % base.length]!;
      assert.ok(r.accepts(text));
      const at = Math.floor(rng.next() * text.length);
      const mutated = text.slice(0, at) + '{}[]",:0123456789.e-tfnulaxyzq'[Math.floor(rng.next() * 31)] + text.slice(at + (rng.next() < 0.5 ? 1 : 0));
      if (r.accepts(mutated)) {
        accepted++;
        assert.ok(validate(JSON.parse(mutated)), `${mutated}: ${JSON.stringify(validate.errors)}`);
      }
    }
    assert.ok(accepted > 10, `only ${accepted} mutations accepted`);
  });
});
