/** The grammar nodes a compiled JSON schema is made of, walked byte by byte by the recognizer. */

/** A byte trie of literal texts (enum/const values, property names). `end` marks where one literal ends. */
export interface LiteralTrie {
  children: Map<number, LiteralTrie>;
  /** Set where a literal ends: its index in the list the trie was built from. */
  end: number | undefined;
  /** Indices of the literals at or below this node (object keys: is an unused one still reachable?). */
  under: number[];
}

export interface ObjectNode {
  kind: 'object';
  /** Declared property names, in order; the index is what the recognizer tracks. */
  names: string[];
  values: SchemaNode[];
  required: boolean[];
  /** JSON texts of the names without the opening quote (each ends with the closing quote). */
  keys: LiteralTrie;
  /** Schema of undeclared properties; null when additionalProperties is false. */
  additional: SchemaNode | null;
}

export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'never' }
  | ObjectNode
  | { kind: 'array'; items: SchemaNode; minItems: number; maxItems: number }
  | { kind: 'string'; minLength: number; maxLength: number }
  | { kind: 'number'; integer: boolean }
  | { kind: 'literal'; trie: LiteralTrie }
  | { kind: 'anyOf'; options: SchemaNode[] }
  | { kind: 'ref'; target: SchemaNode | undefined; pointer: string };

const encoder = new TextEncoder();

export function literalTrie(texts: readonly string[]): LiteralTrie {
  const root: LiteralTrie = { children: new Map(), end: undefined, under: [] };
  texts.forEach((text, index) => {
    let node = root;
    node.under.push(index);
    for (const b of encoder.encode(text)) {
      let child = node.children.get(b);
      if (!child) node.children.set(b, (child = { children: new Map(), end: undefined, under: [] }));
      node = child;
      node.under.push(index);
    }
    node.end ??= index;
  });
  return root;
}

export const ANY: SchemaNode = { kind: 'any' };
export const ANY_OBJECT: ObjectNode = { kind: 'object', names: [], values: [], required: [], keys: literalTrie([]), additional: ANY };
export const ANY_ARRAY: SchemaNode = { kind: 'array', items: ANY, minItems: 0, maxItems: Infinity };
export const ANY_STRING: SchemaNode = { kind: 'string', minLength: 0, maxLength: Infinity };
export const ANY_NUMBER: SchemaNode = { kind: 'number', integer: false };
export const LITERALS: SchemaNode = { kind: 'literal', trie: literalTrie(['true', 'false', 'null']) };

