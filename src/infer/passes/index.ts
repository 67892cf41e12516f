// The graph transformations, in the order they run, each by name (like onnxruntime's graph
// transformers). Each returns how many rewrites it made; compile reports them.
import type { Graph } from '../graph.js';
import { foldBatchNorm } from './fold_batch_norm.js';
import { foldZeroPadding } from './fold_zero_padding.js';
import { fuseActivation } from './fuse_activation.js';
import { fuseResidualAdd } from './fuse_residual_add.js';
import { lowerSubsampleZeroPad } from './lower_subsample_zero_pad.js';
import { removeIdentity } from './remove_identity.js';

export interface Pass {
  name: string;
  run: (graph: Graph) => number;
}

export const PASSES: readonly Pass[] = [
  { name: 'remove-identity', run: removeIdentity },
  { name: 'lower-subsample-zero-pad', run: lowerSubsampleZeroPad },
  { name: 'fold-batch-norm', run: foldBatchNorm },
  { name: 'fuse-activation', run: fuseActivation },
  { name: 'fuse-residual-add', run: fuseResidualAdd },
  { name: 'fold-zero-padding', run: foldZeroPadding },
];

/** Runs every pass on `graph` (in place); returns each pass's rewrite count by name. */
export function optimize(graph: Graph, passes: readonly Pass[] = PASSES): Record<string, number> {
  const applied: Record<string, number> = {};
  for (const pass of passes) applied[pass.name] = pass.run(graph);
  return applied;
}
