import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '../../src/core/graph.js';
import { Variable } from '../../src/core/variable.js';
import { CallContext, currentCallContext, withCallContext } from '../../src/nn/call-context.js';

test('the current context is inference outside withCallContext, and nests', () => {
  assert.equal(currentCallContext().training, false);
  const train = CallContext.forTraining();
  const seen = withCallContext(train, () => {
    const outer = currentCallContext();
    const inner = withCallContext(new CallContext(false), () => currentCallContext().training);
    return { outer, inner, after: currentCallContext() };
  });
  assert.equal(seen.outer, train);
  assert.equal(seen.inner, false);
  assert.equal(seen.after, train);
  assert.equal(currentCallContext().training, false);
  // The stack unwinds on a throw too.
  assert.throws(() => withCallContext(train, () => { throw new Error('boom'); }), /boom/);
  assert.notEqual(currentCallContext(), train);
});

test('state updates are kept in training contexts, dropped elsewhere, and shared by withTraining', () => {
  trace((g) => {
    const v = new Variable('bn/moving_mean', [2]);
    const value = g.input('m', [2]);
    const train = CallContext.forTraining();
    train.updateState(v, value);
    assert.equal(train.stateUpdates.get(v), value);
    const frozen = train.withTraining(false);
    assert.equal(frozen.training, false);
    const w = new Variable('bn/moving_var', [2]);
    frozen.updateState(w, value);
    assert.equal(train.stateUpdates.get(w), value);
    assert.equal(train.withTraining(true), train);
    const inference = new CallContext(false);
    inference.updateState(v, value);
    assert.equal(inference.stateUpdates.size, 0);
  });
});
