// Pass 'fold-zero-padding': an explicit ZeroPadding2D (torchvision-style strided convolutions, the
// course model's stem) becomes the padding of the convolutions that read it, which oneDNN applies
// without a padded copy. Before a max pooling it folds only where its input cannot be negative (it
// ends in a ReLU): the maximum over a window of non-negative values with some zeros added is the
// maximum over its real cells (every window keeps at least one), which is what pooling with
// padding computes.
import { bypass, producer, readers, type Graph, type Operation } from '../graph.js';

/** True when the values `o` writes are >= 0 (its last step is a ReLU). */
function nonNegative(o: Operation | undefined): boolean {
  if (!o) return false;
  if (o.op === 'conv') return o.conv.residual ? o.conv.reluAfterSum : o.conv.relu;
  return ((o.op === 'batchNorm' || o.op === 'add' || o.op === 'dense') && o.relu) || o.op === 'relu';
}

export function foldZeroPadding(graph: Graph): number {
  let count = 0;
  for (const pad of [...graph.operations]) {
    if (pad.op !== 'zeroPad' || graph.output === pad.output) continue;
    const users = readers(graph, pad.output);
    const foldable = (o: Operation) =>
      (o.op === 'conv' && o.conv.residual !== pad.output && o.inputs[0] === pad.output) ||
      (o.op === 'maxPool' && nonNegative(producer(graph, pad.inputs[0])));
    if (users.length === 0 || !users.every(foldable)) continue;
    for (const o of users) {
      const extra = o.op === 'conv' ? o.conv.extraPadding : o.op === 'maxPool' ? o.pool.extraPadding : null;
      extra!.forEach((_, i) => (extra![i] += pad.padding[i]));
      o.layers = [...pad.layers, ...o.layers];
    }
    bypass(graph, pad, pad.inputs[0]);
    count++;
  }
  return count;
}
