// The JavaScript share of a ResNet-50@64 training step (batch 32): times real steps, then replaces
// every addon function with a no-op (after warm-up, so that all arrays exist) and times steps again:
// what is left is tfjs-layers, the tape and the kernels' glue. The values computed are garbage from
// then on; only the time means anything. Prints one JSON line.
// Run: node native/tools/js_step.mjs [--steps 10]
import * as tf from '../../dist/src/tf.js';
import { useBackend } from '../../dist/src/engine/backends.js';
import { loadAddon } from '../../dist/src/engine/native/addon.js';
import { resnet50 } from './resnet50.mjs';

const stepsAt = process.argv.indexOf('--steps');
const steps = stepsAt > 0 ? Number(process.argv[stepsAt + 1]) : 10;
await useBackend('native');
const addon = loadAddon();
const model = resnet50(tf);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
const xs = tf.randomUniform([32, 64, 64, 3]);
const ys = tf.cast(tf.oneHot(tf.randomUniform([32], 0, 6, 'int32'), 6), 'float32');
const msPerStep = async (n) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await model.trainOnBatch(xs, ys);
  return (performance.now() - t) / n;
};
await msPerStep(3);
const real = await msPerStep(Math.max(3, steps >> 1));
for (const name of Object.keys(addon)) {
  if (typeof addon[name] === 'function' && !/Threads|Precision|Algorithm|release/.test(name)) addon[name] = () => {};
}
await msPerStep(2);
console.log(JSON.stringify({ step_ms: +real.toFixed(1), javascript_only_step_ms: +(await msPerStep(steps)).toFixed(1) }));
