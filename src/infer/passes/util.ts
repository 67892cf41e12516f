// What the graph transformations share: merging an operation into the one before it.
import type { Graph, Operation } from '../graph.js';

/**
 * Merges `consumer` into `producer` (which computes consumer's work from now on): the merged
 * operation writes consumer's output, takes consumer's place in the order (after everything either
 * reads) and stands for both operations' layers. `producer`'s output must have no other reader.
 */
export function absorb(graph: Graph, producer: Operation, consumer: Operation): void {
  producer.output = consumer.output;
  producer.layers = [...producer.layers, ...consumer.layers];
  const at = graph.operations.indexOf(consumer);
  graph.operations[at] = producer;
  graph.operations.splice(graph.operations.indexOf(producer), 1);
}
