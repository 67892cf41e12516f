// Pass 'fuse-activation': a ReLU whose input is read by nothing else runs inside the operation that
// writes that input: a convolution's eltwise post-op (before the residual sum, or after it once
// fuse-residual-add gave it one), batch norm's fused ReLU, the Add's or the dense layer's post-op.
import { producer, soleReader, type Graph } from '../graph.js';
import { absorb } from './util.js';

export function fuseActivation(graph: Graph): number {
  let count = 0;
  for (const relu of [...graph.operations]) {
    if (relu.op !== 'relu') continue;
    const from = producer(graph, relu.inputs[0]);
    if (!from || soleReader(graph, relu.inputs[0]) !== relu) continue;
    if (from.op === 'conv' && !from.conv.residual && !from.conv.relu) from.conv.relu = true;
    else if (from.op === 'conv' && from.conv.residual && !from.conv.reluAfterSum) from.conv.reluAfterSum = true;
    else if ((from.op === 'batchNorm' || from.op === 'add') && !from.relu) from.relu = true;
    else if (from.op === 'dense' && !from.relu && !from.softmax) from.relu = true;
    else continue;
    absorb(graph, from, relu);
    count++;
  }
  return count;
}
