// Choosing a subset of a data set before decoding it (the `limit` option).
import { DataError } from './types.js';

/**
 * Indices (ascending) of at most `limit` items, taken round-robin over the classes (the i-th item
 * of every class before any class's (i+1)-th) so that a small limit still covers every class in
 * near-equal numbers. No limit: all indices.
 */
export function balancedSelection(labels: ArrayLike<number>, numClasses: number, limit?: number): number[] {
  const all = Array.from({ length: labels.length }, (_, i) => i);
  if (limit === undefined || limit >= labels.length) {
    if (limit !== undefined) checkLimit(limit);
    return all;
  }
  checkLimit(limit);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (const i of all) byClass[labels[i]].push(i);
  const chosen: number[] = [];
  for (let round = 0; chosen.length < limit; round++) {
    for (const members of byClass) {
      if (round < members.length && chosen.length < limit) chosen.push(members[round]);
    }
  }
  return chosen.sort((a, b) => a - b);
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new DataError(`limit must be a positive integer number of images, got ${limit}`);
}
