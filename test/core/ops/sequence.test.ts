import { test } from 'node:test';
import * as F from '../../../src/core/ops/index.js';
import { checkGrad, checkOp } from '../../helpers/gradcheck.js';
import { fixedValues } from './reference.js';

test('sin and cos: forward and gradient', async () => {
  const xs = fixedValues(6, 3, 3);
  await checkOp(({ x }) => F.sin(x!), { x: { shape: [2, 3], values: xs } }, () => Array.from(xs, Math.sin), { atol: 1e-6 });
  await checkOp(({ x }) => F.cos(x!), { x: { shape: [2, 3], values: xs } }, () => Array.from(xs, Math.cos), { atol: 1e-6 });
  await checkGrad(({ x }) => F.sin(x!), { x: { shape: [2, 3], low: -3, high: 3 } });
  await checkGrad(({ x }) => F.cos(x!), { x: { shape: [2, 3], low: -3, high: 3 } });
});
