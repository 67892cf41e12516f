// Where the trainer's own step goes (src/train/loop.ts trainStep with src/train/optimizer.ts), for
// any registered model: by default the paper recipe of bench/cifar10.sh (ResNet-20, 32x32x3, batch
// 128, SGD momentum 0.9, weight decay 1e-4 on kernels, float32). Times real steps with a timer around
// every addon call (ms per step by function, and the top shapes with --shapes), then, with --js,
// replaces every addon function with a no-op and times again: what is left is tfjs-layers, the tape,
// the optimiser's glue and the kernels' JavaScript. Prints JSON lines.
// Run: node native/tools/train_step.mjs [--model resnet20] [--batch 128] [--size 32] [--classes 10]
//        [--steps 20] [--optimizer sgd] [--lr 0.1] [--weight-decay 1e-4] [--shapes] [--js]   (env: CONV_ALGORITHM=gemm|primitive|auto)
// The course's ResNet-50 step (what addon_in_step.mjs and js_step.mjs, folded into this tool, timed):
//   node native/tools/train_step.mjs --model resnet50 --size 64 --batch 32 --classes 6 --optimizer adam --lr 1e-3 --weight-decay 0
import * as tf from '../../dist/src/tf.js';
import { useBackend } from '../../dist/src/engine/backends.js';
import { loadAddon } from '../../dist/src/engine/native/addon.js';
import { buildModel } from '../../dist/src/models/registry.js';
import { makeOptimizer } from '../../dist/src/train/optimizer.js';
import { decayedWeights, trainStep } from '../../dist/src/train/loop.js';

const flag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const modelName = flag('model', 'resnet20'), batch = Number(flag('batch', 128)), size = Number(flag('size', 32));
const steps = Number(flag('steps', 20)), classes = Number(flag('classes', 10));
await useBackend('native');
const addon = loadAddon();
const totals = {}, byShape = new Map();
let timing = false;
for (const name of Object.keys(addon).filter((k) => typeof addon[k] === 'function' && !/Threads|Precision|Algorithm|release/.test(k))) {
  const original = addon[name];
  addon[name] = (...args) => {
    if (!timing) return original(...args);
    const t = process.hrtime.bigint();
    const result = original(...args);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    totals[name] = (totals[name] ?? 0) + ms;
    const key = /^conv2d/.test(name) ? `${name} ${args[0]?.length}x${args[1]?.length}x${args[2]?.length}`
      : /^(binary|unary)$/.test(name) ? `${name} op ${args[0]} ${args.slice(1).filter((a) => a?.length !== undefined).map((a) => a.length).join('x')}` : name;
    const entry = byShape.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byShape.set(key, entry);
    return result;
  };
}
// CONV_ALGORITHM=gemm|primitive|auto: how convolutions are computed (conv_gemm.cc).
if (process.env.CONV_ALGORITHM) addon.setConvAlgorithm(process.env.CONV_ALGORITHM);
const model = buildModel(modelName, { inputShape: [size, size, 3], classes });
const optimizer = makeOptimizer(flag('optimizer', 'sgd'), Number(flag('lr', 0.1)), Number(flag('weight-decay', 1e-4)), 0.9);
const decayed = decayedWeights(model);
const xs = tf.randomUniform([batch, size, size, 3]);
const ys = tf.cast(tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32'), classes), 'float32');
const msPerStep = async (n) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const { loss, correct } = trainStep(model, optimizer, xs, ys, decayed);
    await loss.data();
    await correct.data();
    tf.dispose([loss, correct]);
  }
  return (performance.now() - t) / n;
};
await msPerStep(3);
const before = tf.memory().numTensors;
timing = true;
const cpu = process.cpuUsage();
const stepMs = await msPerStep(steps);
const used = process.cpuUsage(cpu);
timing = false;
const round = (v) => +v.toFixed(2);
const addonMs = Object.values(totals).reduce((a, b) => a + b, 0) / steps;
console.log(JSON.stringify({ model: modelName, batch, size, step_ms: round(stepMs), cpu_ms: round((used.user + used.system) / 1e3 / steps),
  addon_ms: round(addonMs), outside_addon_ms: round(stepMs - addonMs), tensors_leaked: tf.memory().numTensors - before,
  addon_ms_per_step: Object.fromEntries(Object.entries(totals).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / steps)])) }));
if (process.argv.includes('--shapes')) {
  for (const [k, v] of [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 25))) {
    console.log((v.ms / steps).toFixed(2), 'ms', v.calls / steps, 'calls', k);
  }
}
if (process.argv.includes('--js')) {
  for (const name of Object.keys(addon)) {
    if (typeof addon[name] === 'function' && !/Threads|Precision|Algorithm|release/.test(name)) addon[name] = () => {};
  }
  await msPerStep(2);
  console.log(JSON.stringify({ javascript_only_step_ms: round(await msPerStep(steps)) }));
}
