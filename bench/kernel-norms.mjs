// How far training moved each convolution kernel of a run: the L2 norm of every 4-D kernel at
// initialisation (the model rebuilt by name: kernel seeds are fixed, so it is the run's own start) and
// in the run's saved model (its best validation epoch), with their ratio. One JSON line per kernel, input to output.
// bench/degradation.sh calls it for each network (docs/gradients.md: with batch norm the loss does not
// change when a kernel is scaled, so a kernel that grew k-fold takes steps k^2 times smaller).
// Usage: node bench/kernel-norms.mjs RUN_FOLDER MODEL_NAME   (after `npm run build`)
import { readFileSync } from 'node:fs';
import { useBackend } from '../dist/src/engine/backends.js';
import { buildModel } from '../dist/src/models/registry.js';

const [dir, name] = process.argv.slice(2);
if (!dir || !name) {
  console.error('usage: node bench/kernel-norms.mjs RUN_FOLDER MODEL_NAME');
  process.exit(2);
}
await useBackend('cpu');
const fail = (message) => {
  console.error(`kernel-norms: error: ${message}`);
  process.exit(2);
};
let json, bin;
try {
  json = JSON.parse(readFileSync(`${dir}/model.json`, 'utf8'));
  bin = readFileSync(`${dir}/weights.bin`);
} catch (e) {
  fail(`${dir} is not a readable model folder (model.json, weights.bin): ${e.message.split('\n')[0]}`);
}
if (!Array.isArray(json?.weightsManifest)) fail(`${dir}/model.json has no weightsManifest`);
const trained = new Map();
let offset = 0;
for (const group of json.weightsManifest) {
  for (const w of group.weights) {
    const bytes = 4 * w.shape.reduce((a, b) => a * b, 1);
    if (!(offset + bytes <= bin.length)) fail(`${dir}/weights.bin is shorter than model.json declares`);
    trained.set(w.name, new Float32Array(bin.buffer.slice(bin.byteOffset + offset, bin.byteOffset + offset + bytes)));
    offset += bytes;
  }
}
const [height, width, channels] = json.userDefinedMetadata?.inputShape ?? [32, 32, 3];
const classes = json.userDefinedMetadata?.classNames?.length ?? 10;
let model;
try {
  model = buildModel(name, { inputShape: [height, width, channels], classes });
} catch (e) {
  fail(`cannot build '${name}': ${e.message.split('\n')[0]}`);
}
const norm = (values) => Math.sqrt(values.reduce((s, x) => s + x * x, 0));
const kernels = model.weights.filter((v) => v.shape.length === 4);
const missing = kernels.find((w) => !trained.has(w.originalName));
if (missing) fail(`${dir} has no saved weights for ${missing.originalName} (is it a ${name} run?)`);
for (const [i, w] of kernels.entries()) {
  const start = norm(w.read().dataSync());
  const finish = norm(trained.get(w.originalName));
  console.log(JSON.stringify({ network: name, layer: i + 1, kernel: w.originalName, init_norm: +start.toFixed(3), final_norm: +finish.toFixed(3), growth: +(finish / start).toFixed(2) }));
}
