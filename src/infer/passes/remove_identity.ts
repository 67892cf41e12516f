// Pass 'remove-identity': layers that do nothing in inference (a linear Activation, Dropout and
// other noise layers) disappear; their readers read their input.
import { bypass, type Graph } from '../graph.js';

export function removeIdentity(graph: Graph): number {
  const identities = graph.operations.filter((o) => o.op === 'identity');
  for (const o of identities) bypass(graph, o, o.inputs[0]);
  return identities.length;
}
