import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { fingerprint, inspectText } from '../../../src/models/lm/data.js';
import { dataPath } from '../../helpers/fixtures.js';

describe('fingerprint', () => {
  test('is the sha256 of the text and its length', () => {
    const text = 'to be, or not to be';
    assert.deepEqual(fingerprint(text), { sha256: createHash('sha256').update(text).digest('hex'), characters: 19 });
    assert.notEqual(fingerprint(text).sha256, fingerprint(`${text}.`).sha256);
  });
});

describe('inspectText', () => {
  test('prose, with tabs, newlines and accents, is text', () => {
    assert.equal(inspectText(readFileSync(dataPath('tinyshakespeare', 'input.txt'), 'utf8')), undefined);
    assert.equal(inspectText('Añoranza:\tla canción\r\n\f'.repeat(50)), undefined);
  });

  test('random bytes decoded as UTF-8 are flagged, with the counts', () => {
    const rng = new Rng(1);
    const bytes = Buffer.from(Array.from({ length: 20_000 }, () => rng.int(256)));
    const w = inspectText(bytes.toString('utf8'));
    assert.ok(w, 'random bytes must be flagged');
    assert.equal(w.kind, 'not-text');
    assert.ok(w.replacementCharacters > 0.2 * w.characters, `${w.replacementCharacters} of ${w.characters}`);
    assert.ok(w.controlCharacters > 0);
  });

  test('the threshold is 1% of the characters', () => {
    const prose = 'a'.repeat(990);
    assert.equal(inspectText(prose + '\u0000'.repeat(10)), undefined);
    assert.deepEqual(inspectText(prose + '\u0000'.repeat(9) + '\ufffd\ufffd'), { kind: 'not-text', characters: 1001, replacementCharacters: 2, controlCharacters: 9 });
  });
});
