// What test-time augmentation buys a trained model: its accuracy and loss on a labelled folder under
// each --tta mode (none, flip, flip-translate), computed in the precision it names (default float32).
// Usage: node bench/tta.mjs MODEL_FOLDER DATA_FOLDER [float32|bfloat16]   (after `npm run build`)
// Prints one JSON line per mode. Bad input: one `error:` line, exit 2.
import { existsSync } from 'node:fs';

const [folder, data, precision = 'float32'] = process.argv.slice(2);
const fail = (message) => { console.error(`error: ${message}`); process.exit(2); };
if (!folder || !data) fail('usage: node bench/tta.mjs MODEL_FOLDER DATA_FOLDER [float32|bfloat16]');
if (!existsSync(new URL('../dist/src/train/evaluate.js', import.meta.url))) fail('dist/ is missing: run `npm run build` first');
if (!['float32', 'bfloat16'].includes(precision)) fail(`precision must be float32 or bfloat16, got '${precision}'`);
const { useBackend, usePrecision } = await import('../dist/src/engine/backends.js');
const { loadModelFolder } = await import('../dist/src/train/checkpoint.js');
const { loadDataset } = await import('../dist/src/data/load.js');
const { evaluateModel } = await import('../dist/src/train/evaluate.js');
try {
  const engine = await useBackend(precision === 'bfloat16' ? 'native' : 'auto');
  await usePrecision(engine, precision);
  const { model } = await loadModelFolder(folder);
  const ds = await loadDataset(data);
  for (const tta of ['none', 'flip', 'flip-translate']) {
    const started = performance.now();
    const r = evaluateModel(model, ds, 1024, {}, tta);
    console.log(JSON.stringify({ tta, accuracy: r.accuracy, loss: Number(r.loss.toFixed(4)), seconds: Number(((performance.now() - started) / 1000).toFixed(1)) }));
  }
} catch (error) {
  fail(error.message.split('\n')[0]);
}
