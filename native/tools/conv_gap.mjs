// Per-shape time of the addon's convolution calls (ResNet-50@64, batch 32) with warm caches (same
// arrays every call, like native/tools/conv_gap.cpp's direct oneDNN loop) and with cold caches
// (a 64 MiB array written between calls, as in a training step where each layer's operands were
// last touched long before). Milliseconds, summed over the 53 convolutions.
// Run: npm run build:native && node native/tools/conv_gap.mjs   (STEM_BD=1: time the stem's input gradient too)
import { createRequire } from 'node:module';
const addon = createRequire(import.meta.url)('../build/Release/tfjs_native.node');
const N = 32, ITERATIONS = 5, FLUSH = new Float32Array(16 << 20);
const shapes = [ // [count, H, C, K, R, stride, pad, needsBackwardData]
  [1, 70, 3, 64, 7, 2, 0, process.env.STEM_BD === '1'], [1, 15, 64, 64, 1, 1, 0], [3, 15, 64, 64, 3, 1, 1], [4, 15, 64, 256, 1, 1, 0],
  [2, 15, 256, 64, 1, 1, 0], [1, 15, 256, 128, 1, 2, 0], [1, 15, 256, 512, 1, 2, 0], [4, 8, 128, 128, 3, 1, 1],
  [4, 8, 128, 512, 1, 1, 0], [3, 8, 512, 128, 1, 1, 0], [1, 8, 512, 256, 1, 2, 0], [1, 8, 512, 1024, 1, 2, 0],
  [6, 4, 256, 256, 3, 1, 1], [6, 4, 256, 1024, 1, 1, 0], [5, 4, 1024, 256, 1, 1, 0], [1, 4, 1024, 512, 1, 2, 0],
  [1, 4, 1024, 2048, 1, 2, 0], [3, 2, 512, 512, 3, 1, 1], [3, 2, 512, 2048, 1, 1, 0], [2, 2, 2048, 512, 1, 1, 0],
];
function time(fn, cold) {
  fn();
  let total = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    if (cold) FLUSH.fill(i);
    const t = process.hrtime.bigint();
    fn();
    total += Number(process.hrtime.bigint() - t) / 1e6;
  }
  return total / ITERATIONS;
}
const sums = { fwd: [0, 0], bd: [0, 0], bw: [0, 0] };
for (const [count, H, C, K, R, st, pad, needsBd = true] of shapes) {
  const OH = Math.floor((H + 2 * pad - R) / st) + 1;
  const g = Int32Array.from([N, H, H, C, K, R, R, OH, OH, st, st, 1, 1, pad, pad, pad, pad]);
  const x = new Float32Array(N * H * H * C).fill(0.5), y = new Float32Array(N * OH * OH * K).fill(0.25);
  const w = new Float32Array(R * R * C * K).fill(0.1), b = new Float32Array(K), dx = new Float32Array(x.length);
  const row = [];
  for (const [name, fn] of [
    ['fwd', () => addon.conv2d(x, w, b, y, g, true)],
    ['bd', () => needsBd && addon.conv2dBackpropInput(y, w, dx, g)],
    ['bw', () => addon.conv2dBackpropFilter(x, y, w, g)],
  ]) {
    const warm = time(fn, false), cold = time(fn, true);
    sums[name][0] += count * warm; sums[name][1] += count * cold;
    row.push(`${name} ${warm.toFixed(3)} cold ${cold.toFixed(3)}`);
  }
  console.log(`${count} x ${H}x${H} ${C}->${K} k${R} s${st} | ${row.join(' | ')}`);
}
for (const [name, [warm, cold]] of Object.entries(sums)) console.log(`total ${name}: warm ${warm.toFixed(1)} ms, cold ${cold.toFixed(1)} ms`);
