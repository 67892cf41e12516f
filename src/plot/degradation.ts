// The degradation figure of He et al. (2015), figure 6, for any runs: per epoch, the training error
// (dashed) and the held-out error (solid: the test folder's when the run evaluated one every epoch,
// else the validation split's), one panel for the plain networks and one for the residual ones,
// one colour per depth. bench/degradation.sh draws it from its runs (docs/gradients.md).
import type { TopLevelSpec } from 'vega-lite';
import type { EpochRecord } from './curves.js';
import { renderSvg } from './render.js';

/** One trained network: its name (e.g. 'plain-56'), family, depth and history.jsonl. */
export interface DegradationRun {
  name: string;
  residual: boolean;
  depth: number;
  history: EpochRecord[];
}

interface Point {
  epoch: number;
  network: string;
  panel: string;
  depth: string;
  curve: string;
  error: number;
}

/** The held-out error a run records: 'test' when every epoch has test_accuracy, else 'validation'. */
export function heldOutSplit(history: EpochRecord[]): 'test' | 'validation' {
  return history.length > 0 && history.every((h) => h.test_accuracy != null) ? 'test' : 'validation';
}

export function degradationSpec(runs: DegradationRun[]): TopLevelSpec {
  const values: Point[] = [];
  for (const run of runs) {
    const split = heldOutSplit(run.history);
    const base = { network: run.name, panel: run.residual ? 'ResNet' : 'plain', depth: `${run.depth} layers` };
    for (const h of run.history) {
      if (Number.isFinite(h.accuracy)) values.push({ ...base, epoch: h.epoch, curve: 'training', error: 1 - h.accuracy });
      const held = split === 'test' ? h.test_accuracy : h.val_accuracy;
      if (held != null && Number.isFinite(held)) values.push({ ...base, epoch: h.epoch, curve: split, error: 1 - held });
    }
  }
  const heldOut = [...new Set(runs.map((run) => heldOutSplit(run.history)))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `training error (dashed) and ${heldOut.join(' / ')} error (solid) per epoch`, fontWeight: 'normal', fontSize: 12 },
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', sort: ['plain', 'ResNet'], title: null } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 }, title: 'epoch' },
        y: { field: 'error', type: 'quantitative', title: 'error (1 - accuracy)', axis: { format: '.0%' } },
        color: { field: 'depth', type: 'nominal', title: null, legend: { symbolType: 'stroke' } },
        strokeDash: {
          field: 'curve', type: 'nominal', legend: null, // said in the title (vega draws no dashes in legend symbols here)
          scale: { domain: ['training', ...heldOut], range: [[4, 3], ...heldOut.map(() => [1, 0])] },
        },
        detail: { field: 'network', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'shared' } },
  };
}

export function degradationSvg(runs: DegradationRun[]): Promise<string> {
  return renderSvg(degradationSpec(runs));
}
