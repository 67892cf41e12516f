// Pass 'fold-batch-norm': a batch norm whose input is a convolution's output read by nothing else
// is folded into that convolution: y = gamma (conv(x, w) + b - mean) / sqrt(variance + eps) + beta
// = conv(x, w') + b' with w' = w * k, b' = (b - mean) * k + beta, k = gamma / sqrt(variance + eps)
// per output channel. The executor computes w' and b' from the layers' current variables (in float64,
// rounded once to float32: foldedConvWeights in weights.ts). A batch norm that follows anything else
// (the pre-activation batch norms of v2 blocks, after an Add) stays a batch-norm operation.
import { producer, soleReader, type Graph } from '../graph.js';
import { absorb } from './util.js';

export function foldBatchNorm(graph: Graph): number {
  let count = 0;
  for (const bn of [...graph.operations]) {
    if (bn.op !== 'batchNorm' || bn.relu) continue;
    const conv = producer(graph, bn.inputs[0]);
    if (conv?.op !== 'conv' || conv.conv.batchNorm || conv.conv.relu || conv.conv.residual) continue;
    if (soleReader(graph, conv.output) !== bn || bn.output.shape.length !== 3) continue;
    conv.conv.batchNorm = bn.batchNorm;
    absorb(graph, conv, bn);
    count++;
  }
  return count;
}
