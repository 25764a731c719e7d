/**
 * JSON Schema → the grammar nodes the recognizer walks. Only what can be enforced byte by byte is
 * accepted; any other keyword is an `UnsupportedSchemaError` naming it and its JSON pointer, so a
 * caller never gets output that silently ignores part of its schema.
 */
import { ANY, ANY_NUMBER, literalTrie, type ObjectNode, type SchemaNode } from './nodes.js';
import { matches } from './recognizer.js';

/** A schema keyword the constraint cannot enforce, or a malformed schema; `path` is a JSON pointer. */
export class UnsupportedSchemaError extends Error {
  override readonly name = 'UnsupportedSchemaError';
  constructor(
    readonly keyword: string,
    readonly path: string,
    detail?: string,
  ) {
    super(`JSON schema at ${path === '' ? '#' : `#${path}`}: ${detail ?? `keyword "${keyword}" is not supported by constrained decoding`}`);
  }
}

// Annotations: they change nothing about which texts are valid.
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];
// Which type a keyword implies when `type` is absent.
const IMPLIED: Record<string, TypeName> = {
  properties: 'object',
  required: 'object',
  additionalProperties: 'object',
  items: 'array',
  minItems: 'array',
  maxItems: 'array',
  minLength: 'string',
  maxLength: 'string',
};
const SUPPORTED = new Set([...Object.keys(IMPLIED), 'type', 'enum', 'const', 'anyOf', '$defs', 'definitions', '$ref']);

const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Compiles a JSON schema (draft 2020-12 subset) into grammar nodes. */
export function compileSchema(schema: unknown): SchemaNode {
  return new Compiler(schema).compile(schema, '');
}

class Compiler {
  private readonly refs = new Map<string, Extract<SchemaNode, { kind: 'ref' }>>();

  constructor(private readonly root: unknown) {}

  compile(schema: unknown, path: string): SchemaNode {
    const node = this.node(schema, path);
    for (const ref of this.refs.values()) {
      if (ref.target === undefined) ref.target = this.node(this.resolve(ref.pointer, path), ref.pointer.slice(1));
    }
    return node;
  }

  private node(schema: unknown, path: string): SchemaNode {
    if (schema === true) return ANY;
    if (schema === false) return { kind: 'never' };
    if (!isObject(schema)) throw new UnsupportedSchemaError('type', path, 'a schema must be an object or a boolean');
    for (const key of Object.keys(schema)) {
      if (!SUPPORTED.has(key) && !ANNOTATIONS.has(key)) throw new UnsupportedSchemaError(key, `${path}/${escapePointer(key)}`);
    }
    for (const defs of ['$defs', 'definitions']) {
      if (schema[defs] !== undefined && !isObject(schema[defs])) throw new UnsupportedSchemaError(defs, `${path}/${defs}`, `"${defs}" must be an object`);
    }
    if (schema.$ref !== undefined) return this.ref(schema, path);
    if (schema.anyOf !== undefined) return this.anyOf(schema, path);
    if (schema.enum !== undefined || schema.const !== undefined) return this.literal(schema, path);
    return this.typed(schema, path);
  }

  private ref(schema: Record<string, unknown>, path: string): SchemaNode {
    const pointer = schema.$ref;
    const others = Object.keys(schema).filter((k) => k !== '$ref' && k !== '$defs' && k !== 'definitions' && !ANNOTATIONS.has(k));
    if (others.length > 0) throw new UnsupportedSchemaError(others[0]!, `${path}/${escapePointer(others[0]!)}`, `keywords beside "$ref" are not supported ("${others[0]}")`);
    if (typeof pointer !== 'string' || !pointer.startsWith('#')) {
      throw new UnsupportedSchemaError('$ref', `${path}/$ref`, `only local references ("#/$defs/...") are supported, got ${JSON.stringify(pointer)}`);
    }
    let ref = this.refs.get(pointer);
    if (!ref) {
      this.resolve(pointer, `${path}/$ref`);
      ref = { kind: 'ref', target: undefined, pointer };
      this.refs.set(pointer, ref);
    }
    return ref;
  }

  private resolve(pointer: string, path: string): unknown {
    let at: unknown = this.root;
    for (const raw of pointer.slice(1).split('/').slice(1)) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      at = isObject(at) ? at[part] : Array.isArray(at) ? at[Number(part)] : undefined;
      if (at === undefined) throw new UnsupportedSchemaError('$ref', path, `reference ${JSON.stringify(pointer)} does not resolve`);
    }
    return at;
  }

  private anyOf(schema: Record<string, unknown>, path: string): SchemaNode {
    const list = schema.anyOf;
    if (!Array.isArray(list) || list.length === 0) throw new UnsupportedSchemaError('anyOf', `${path}/anyOf`, '"anyOf" must be a non-empty array');
    const { anyOf: _, ...rest } = schema;
    const options = list.map((s, i) => this.node(s, `${path}/anyOf/${i}`));
    const siblings = Object.keys(rest).filter((k) => !ANNOTATIONS.has(k) && k !== '$defs' && k !== 'definitions');
    if (siblings.length > 0) throw new UnsupportedSchemaError(siblings[0]!, `${path}/${escapePointer(siblings[0]!)}`, `keywords beside "anyOf" are not supported ("${siblings[0]}"); move them into each branch`);
    return options.length === 1 ? options[0]! : { kind: 'anyOf', options };
  }

  // enum/const: the canonical JSON text of each value that also passes the rest of the schema.
  private literal(schema: Record<string, unknown>, path: string): SchemaNode {
    let values: unknown[];
    if (schema.const !== undefined) values = [schema.const];
    else if (Array.isArray(schema.enum) && schema.enum.length > 0) values = schema.enum;
    else throw new UnsupportedSchemaError('enum', `${path}/enum`, '"enum" must be a non-empty array');
    const { enum: _e, const: _c, ...rest } = schema;
    const restNode = this.node(rest, path);
    const texts = values.map((v) => JSON.stringify(v)).filter((t) => matches(restNode, t));
    if (texts.length === 0) throw new UnsupportedSchemaError(schema.const !== undefined ? 'const' : 'enum', path, 'no enum/const value satisfies the rest of the schema');
    return { kind: 'literal', trie: literalTrie(texts) };
  }

  private typed(schema: Record<string, unknown>, path: string): SchemaNode {
    let types: TypeName[];
    const type = schema.type;
    if (type === undefined) {
      types = [...new Set(Object.keys(schema).map((k) => IMPLIED[k]).filter((t): t is TypeName => t !== undefined))];
      if (types.length === 0) return ANY;
    } else {
      const list = Array.isArray(type) ? type : [type];
      if (list.length === 0 || !list.every((t) => (TYPES as readonly unknown[]).includes(t))) {
        throw new UnsupportedSchemaError('type', `${path}/type`, `"type" must be one of ${TYPES.join(', ')} (or an array of them), got ${JSON.stringify(type)}`);
      }
      types = [...new Set(list as TypeName[])];
    }
    const options = types.map((t) => this.ofType(t, schema, path));
    return options.length === 1 ? options[0]! : { kind: 'anyOf', options };
  }

  private ofType(type: TypeName, schema: Record<string, unknown>, path: string): SchemaNode {
    switch (type) {
      case 'object':
        return this.object(schema, path);
      case 'array': {
        const items = schema.items === undefined ? ANY : this.node(schema.items, `${path}/items`);
        const minItems = count(schema, 'minItems', path, 0);
        const maxItems = count(schema, 'maxItems', path, Infinity);
        if (minItems > maxItems) throw new UnsupportedSchemaError('minItems', `${path}/minItems`, `minItems ${minItems} is above maxItems ${maxItems}`);
        return { kind: 'array', items, minItems, maxItems };
      }
      case 'string': {
        const minLength = count(schema, 'minLength', path, 0);
        const maxLength = count(schema, 'maxLength', path, Infinity);
        if (minLength > maxLength) throw new UnsupportedSchemaError('minLength', `${path}/minLength`, `minLength ${minLength} is above maxLength ${maxLength}`);
        return { kind: 'string', minLength, maxLength };
      }
      case 'number':
        return ANY_NUMBER;
      case 'integer':
        return { kind: 'number', integer: true };
      case 'boolean':
        return { kind: 'literal', trie: literalTrie(['true', 'false']) };
      case 'null':
        return { kind: 'literal', trie: literalTrie(['null']) };
    }
  }

  private object(schema: Record<string, unknown>, path: string): ObjectNode {
    const props = schema.properties ?? {};
    if (!isObject(props)) throw new UnsupportedSchemaError('properties', `${path}/properties`, '"properties" must be an object');
    const required = schema.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) {
      throw new UnsupportedSchemaError('required', `${path}/required`, '"required" must be an array of strings');
    }
    const extra = schema.additionalProperties;
    // Absent or true: any other property with any value, as JSON Schema says; false: only the declared ones.
    const additional = extra === undefined ? ANY : extra === false ? null : this.node(extra, `${path}/additionalProperties`);
    const names = Object.keys(props);
    const values = names.map((n) => this.node(props[n], `${path}/properties/${escapePointer(n)}`));
    for (const r of required) {
      if (names.includes(r)) continue;
      if (additional === null) {
        throw new UnsupportedSchemaError('required', `${path}/required`, `required property ${JSON.stringify(r)} is not in "properties" and additionalProperties is false`);
      }
      names.push(r);
      values.push(additional);
    }
    const keys = literalTrie(names.map((n) => JSON.stringify(n).slice(1)));
    return { kind: 'object', names, values, required: names.map((n) => required.includes(n)), keys, additional };
  }
}

function count(schema: Record<string, unknown>, key: string, path: string, fallback: number): number {
  const v = schema[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UnsupportedSchemaError(key, `${path}/${key}`, `"${key}" must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

