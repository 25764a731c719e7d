import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchema, UnsupportedSchemaError } from '../../../src/text/constrained/schema.js';

function rejects(schema: unknown, keyword: string, path: string, message?: RegExp): void {
  assert.throws(
    () => compileSchema(schema),
    (err: unknown) => {
      assert.ok(err instanceof UnsupportedSchemaError, String(err));
      assert.equal(err.keyword, keyword);
      assert.equal(err.path, path);
      assert.ok(err.message.includes(path === '' ? '#' : `#${path}`), err.message);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

describe('compileSchema', () => {
  test('unsupported keywords are named with their JSON pointer', () => {
    rejects({ type: 'string', pattern: '^a' }, 'pattern', '/pattern', /"pattern" is not supported/);
    rejects({ type: 'object', properties: { when: { type: 'string', format: 'date-time' } } }, 'format', '/properties/when/format');
    rejects({ type: 'object', properties: { n: { type: 'number', minimum: 0 } } }, 'minimum', '/properties/n/minimum');
    rejects({ type: 'array', items: { oneOf: [{ type: 'string' }] } }, 'oneOf', '/items/oneOf');
    rejects({ $defs: { x: { type: 'object', properties: { 'a/b': { allOf: [] } } } }, $ref: '#/$defs/x' }, 'allOf', '/$defs/x/properties/a~1b/allOf');
    rejects({ anyOf: [{ type: 'string' }, { type: 'integer', multipleOf: 2 }] }, 'multipleOf', '/anyOf/1/multipleOf');
    rejects({ type: 'object', patternProperties: {} }, 'patternProperties', '/patternProperties');
  });

  test('malformed schemas are refused with the keyword and path', () => {
    rejects({ type: 'strin' }, 'type', '/type', /must be one of/);
    rejects({ type: 'object', properties: { a: 5 } }, 'type', '/properties/a', /object or a boolean/);
    rejects({ type: 'object', required: 'a' }, 'required', '/required');
    rejects({ type: 'object', properties: {}, required: ['a'], additionalProperties: false }, 'required', '/required', /"a" is not in "properties"/);
    rejects({ type: 'string', maxLength: -1 }, 'maxLength', '/maxLength');
    rejects({ type: 'string', minLength: 3, maxLength: 2 }, 'minLength', '/minLength');
    rejects({ $ref: '#/$defs/missing' }, '$ref', '/$ref', /does not resolve/);
    rejects({ $ref: 'https://example.com/s.json' }, '$ref', '/$ref', /only local/);
    rejects({ enum: [] }, 'enum', '/enum');
    rejects({ type: 'integer', enum: ['a', 1.5] }, 'enum', '', /no enum\/const value/);
    rejects({ anyOf: [{ type: 'string' }], maxLength: 3 }, 'maxLength', '/maxLength', /beside "anyOf"/);
  });

  test('annotations are ignored; keywords imply their type when type is absent', () => {
    const node = compileSchema({ title: 't', description: 'd', $schema: 'https://json-schema.org/draft/2020-12/schema', properties: { a: { default: 1, examples: [1] } } });
    assert.equal(node.kind, 'object');
    assert.equal(compileSchema({}).kind, 'any');
    assert.equal(compileSchema(true).kind, 'any');
    assert.equal(compileSchema(false).kind, 'never');
    assert.equal(compileSchema({ maxLength: 2 }).kind, 'string');
  });

  test('required names outside properties become declared keys with the additionalProperties schema', () => {
    const node = compileSchema({ type: 'object', properties: { a: {} }, required: ['a', 'b'], additionalProperties: { type: 'string' } });
    assert.ok(node.kind === 'object');
    assert.deepEqual(node.names, ['a', 'b']);
    assert.deepEqual(node.required, [true, true]);
    assert.equal(node.values[1]!.kind, 'string');
  });
});
