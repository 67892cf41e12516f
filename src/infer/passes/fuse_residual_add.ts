// Pass 'fuse-residual-add': the Add that closes a residual block becomes the sum post-op of the
// convolution that writes one of its operands (the block's last convolution, or the projection
// shortcut), when nothing else reads that convolution's output: conv(x) + shortcut, then the Add's
// ReLU, in one oneDNN primitive. The convolution moves to the Add's place in the order, after the
// shortcut is computed. Of two candidates, the later one takes the sum (the other is the residual).
import { producer, soleReader, type Graph, type Operation } from '../graph.js';
import { absorb } from './util.js';

export function fuseResidualAdd(graph: Graph): number {
  let count = 0;
  for (const add of [...graph.operations]) {
    if (add.op !== 'add' || add.inputs[0] === add.inputs[1]) continue;
    const candidates = add.inputs
      .map((v, i) => ({ conv: producer(graph, v), other: add.inputs[1 - i] }))
      .filter((c): c is { conv: Operation & { op: 'conv' }; other: typeof add.inputs[0] } =>
        c.conv?.op === 'conv' && !c.conv.conv.residual && soleReader(graph, c.conv.output) === add);
    if (candidates.length === 0) continue;
    const { conv, other } = candidates.reduce((a, b) => (graph.operations.indexOf(b.conv) > graph.operations.indexOf(a.conv) ? b : a));
    conv.conv.residual = other;
    conv.conv.reluAfterSum = add.relu;
    absorb(graph, conv, add);
    count++;
  }
  return count;
}
