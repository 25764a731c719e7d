/** The checkpoint format: what it stores, and what it refuses without changing anything. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { Variable } from '../../src/core/variable.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { Adam } from '../../src/optim/index.js';
import { CheckpointError, readCheckpoint, readCheckpointRun, writeCheckpoint, type TrainingState } from '../../src/train/index.js';

const dir = await mkdtemp(join(tmpdir(), 'forja-checkpoint-'));

function state(values: number[], iterations: number, rngState: number): TrainingState & { w: Variable } {
  const w = new Variable('w', [values.length], Float32Array.from(values));
  const adam = new Adam();
  adam.iterations = iterations;
  const rng = new Rng();
  rng.state = rngState;
  return { w, variables: new Map([['layer/w', w]]), optimizers: { adam }, rngs: { noise: rng } };
}

const contents = (s: TrainingState) => ({
  state: s,
  position: { epoch: 2, step: 3, globalStep: 11 },
  history: [{ epoch: 0, loss: 0.5 }, { epoch: 1, loss: 0.25 }],
  epochSums: { sums: { loss: 1.5 }, weight: 3 },
  meta: { model: 'x', lr: 0.1 },
});

describe('checkpoint', () => {
  test('round trip: tensors, position, step counts, RNG state, history, running sums, meta', async () => {
    const path = join(dir, 'a.safetensors');
    await writeCheckpoint(path, contents(state([1, 2, 3], 11, 12345)));
    const target = state([0, 0, 0], 0, 0);
    const run = await readCheckpoint(path, target);
    assert.deepEqual(Array.from(target.w.value), [1, 2, 3]);
    assert.equal(target.optimizers.adam!.iterations, 11);
    assert.equal(target.rngs!.noise!.state, 12345);
    assert.deepEqual(run.position, { epoch: 2, step: 3, globalStep: 11 });
    assert.deepEqual(run.history, contents(target).history);
    assert.deepEqual(run.epochSums, { sums: { loss: 1.5 }, weight: 3 });
    assert.deepEqual(run.meta, { model: 'x', lr: 0.1 });
    assert.deepEqual([...(await readSafetensors(path)).keys()], ['layer/w']);
  });

  test('a shape mismatch is refused naming the tensor, and nothing is assigned', async () => {
    const path = join(dir, 'b.safetensors');
    await writeCheckpoint(path, contents(state([1, 2, 3], 5, 1)));
    const target = state([9, 9], 0, 0);
    await assert.rejects(readCheckpoint(path, target), (err: unknown) => err instanceof CheckpointError && /layer\/w/.test(err.message) && /\[3\]/.test(err.message));
    assert.deepEqual(Array.from(target.w.value), [9, 9]);
    assert.equal(target.optimizers.adam!.iterations, 0);
  });

  test('state the run needs but the file lacks is refused', async () => {
    const path = join(dir, 'c.safetensors');
    const s = state([1], 1, 1);
    await writeCheckpoint(path, contents({ variables: s.variables, optimizers: s.optimizers }));
    await assert.rejects(readCheckpoint(path, state([0], 0, 0)), /no state for random stream 'noise'/);
  });

  test('files that are not checkpoints, corrupt metadata and torn files are refused with the path', async () => {
    const plain = join(dir, 'plain.safetensors');
    await writeSafetensors(plain, { w: { shape: [1], data: Float32Array.of(1) } }, { format: 'pt' });
    await assert.rejects(readCheckpointRun(plain), (err: unknown) => err instanceof CheckpointError && err.path === plain && /not a Forja checkpoint.*"pt"/.test(err.message));
    const corrupt = join(dir, 'corrupt.safetensors');
    await writeSafetensors(corrupt, { w: { shape: [1], data: Float32Array.of(1) } }, { format: 'forja-checkpoint', version: '1', run: '{"position":' });
    await assert.rejects(readCheckpointRun(corrupt), /metadata is corrupt/);
    const torn = join(dir, 'torn.safetensors');
    await writeFile(torn, Buffer.from([1, 2, 3]));
    await assert.rejects(readCheckpointRun(torn), (err: unknown) => err instanceof CheckpointError && /cannot read the checkpoint/.test(err.message));
  });
});
