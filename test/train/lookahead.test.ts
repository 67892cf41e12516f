// Lookahead weight averaging (src/train/lookahead.ts): updates worked by hand on a one-layer model,
// the write-back at the end of an epoch, and flat memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { Lookahead, lookaheadDecay } from '../../src/train/lookahead.js';
import { DEFAULT_LOOKAHEAD } from '../../src/train/options.js';

const TOL = 1e-6;

function close(actual: ArrayLike<number>, expected: number[]) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= TOL, `[${i}] ${actual[i]} != ${expected[i]}`);
}

function model(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: 'zeros', biasInitializer: 'zeros' })] });
  return m;
}

/** Sets the dense layer's kernel [a, b] and bias [c], as an optimiser step would. */
function setWeights(m: tf.LayersModel, values: number[]) {
  const ws = [tf.tensor2d([[values[0]], [values[1]]]), tf.tensor1d([values[2]])];
  m.setWeights(ws);
  tf.dispose(ws);
}
const weightsOf = (m: tf.LayersModel) => m.getWeights().flatMap((w) => [...w.dataSync()]);

describe('lookahead', () => {
  test('decay: 0.95^5 * (step/total)^3 with airbench\'s values', () => {
    assert.ok(Math.abs(lookaheadDecay(DEFAULT_LOOKAHEAD, 50, 100) - 0.95 ** 5 / 8) < 1e-15);
    assert.equal(lookaheadDecay(DEFAULT_LOOKAHEAD, 100, 100), 0.95 ** 5);
  });

  test('every 2nd step the average moves to rho avg + (1 - rho) w and the model takes it; finish writes it back', async () => {
    await tf.setBackend('cpu');
    const m = model();
    setWeights(m, [1, 2, 3]);
    const settings = { every: 2, decay: 0.5, power: 1, start: 0 };
    const la = new Lookahead(m, settings);
    const before = tf.memory().numTensors;
    setWeights(m, [3, 2, 1]);
    la.afterStep(1, 4); // not a multiple of 2: nothing happens
    close(weightsOf(m), [3, 2, 1]);
    setWeights(m, [5, 6, 7]);
    la.afterStep(2, 4); // rho = 0.25 * 2/4 = 0.125: 0.125 [1,2,3] + 0.875 [5,6,7]
    close(weightsOf(m), [4.5, 5.5, 6.5]);
    setWeights(m, [0, 0, 0]);
    la.afterStep(4, 4); // rho = 0.25: 0.25 [4.5,5.5,6.5] + 0.75 * 0
    close(weightsOf(m), [1.125, 1.375, 1.625]);
    setWeights(m, [9, 9, 9]);
    la.finish(); // the model holds the average again
    close(weightsOf(m), [1.125, 1.375, 1.625]);
    assert.ok(tf.memory().numTensors <= before, `${tf.memory().numTensors} tensors, ${before} before`);
    m.dispose();
  });
});
