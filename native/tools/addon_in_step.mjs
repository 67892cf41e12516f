// Time spent inside each of the addon's functions during real ResNet-50@64 training steps (batch
// 32), without tf.profile (whose reads of every output defeat the buffer pool and inflate kernel
// times): wraps the addon's functions with timers. Prints ms per step by kind, and the step time.
// Run: node native/tools/addon_in_step.mjs [--steps 4] [--shapes]
import * as tf from '../../dist/src/tf.js';
import { useBackend } from '../../dist/src/engine/backends.js';
import { loadAddon } from '../../dist/src/engine/native/addon.js';
import { resnet50 } from './resnet50.mjs';

const addon = loadAddon();
const totals = {}, cpuTotals = {}, byShape = new Map();
for (const name of Object.keys(addon).filter((k) => typeof addon[k] === 'function' && !/Threads|Precision/.test(k))) {
  const original = addon[name];
  addon[name] = (...args) => {
    const t = process.hrtime.bigint(), c = process.cpuUsage();
    original(...args);
    const ms = Number(process.hrtime.bigint() - t) / 1e6, used = process.cpuUsage(c);
    totals[name] = (totals[name] ?? 0) + ms;
    cpuTotals[name] = (cpuTotals[name] ?? 0) + (used.user + used.system) / 1e3;
    // binary/unary: by op code and operand lengths; others by name.
    const key = /^conv2d/.test(name) ? `${name} ${args[0].length}x${args[1].length}x${args[2].length}` : /^(binary|unary)$/.test(name) ? `${name} op ${args[0]} ${args.slice(1).filter((a) => a?.length !== undefined).map((a) => a.length).join('x')}` : name;
    const entry = byShape.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byShape.set(key, entry);
  };
}
await useBackend('native');
if (process.env.CONV_ALGORITHM) loadAddon().setConvAlgorithm(process.env.CONV_ALGORITHM);
const stepsAt = process.argv.indexOf('--steps');
const steps = stepsAt > 0 ? Number(process.argv[stepsAt + 1]) : 4;
const model = resnet50(tf);
model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
const xs = tf.randomUniform([32, 64, 64, 3]);
const ys = tf.cast(tf.oneHot(tf.randomUniform([32], 0, 6, 'int32'), 6), 'float32');
for (let i = 0; i < 2; i++) await model.trainOnBatch(xs, ys);
for (const k of Object.keys(totals)) delete totals[k], delete cpuTotals[k];
byShape.clear();
const cpu = process.cpuUsage(), t = performance.now();
for (let i = 0; i < steps; i++) await model.trainOnBatch(xs, ys);
const wall = (performance.now() - t) / 1000 / steps, cpuSec = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6 / steps;
const perStep = Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, +(v / steps).toFixed(1)]));
const cpuPerStep = Object.fromEntries(Object.entries(cpuTotals).map(([k, v]) => [k, +(v / steps).toFixed(1)]));
console.log(JSON.stringify({ step_sec: +wall.toFixed(3), step_cpu_sec: +cpuSec.toFixed(3), addon_ms_per_step: perStep,
  addon_cpu_ms_per_step: cpuPerStep }));
if (process.argv.includes('--shapes')) {
  for (const [k, v] of [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 20))) {
    console.log((v.ms / steps).toFixed(2), 'ms', v.calls / steps, 'calls', k);
  }
}
