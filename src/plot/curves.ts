// Learning curves: loss and accuracy per epoch, training vs validation, side by side.
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './render.js';

/** One line of history.jsonl (a number may be NaN: written "NaN", train/json.ts; a NaN point is left out of the plot). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number | null;
  val_accuracy: number | null;
  lr: number;
  seconds: number;
  /** On the --eval-data set, when given (recorded, never used to choose anything). */
  test_loss?: number | null;
  test_accuracy?: number | null;
  /** Seconds of the epoch's evaluations (validation and test), included in `seconds`. */
  eval_seconds?: number;
  /** Seconds since the process started (Node) or the page loaded, at the end of the epoch's evaluations. */
  elapsed?: number;
}

export function curvesSpec(history: EpochRecord[]): TopLevelSpec {
  const values: { epoch: number; metric: string; split: string; value: number }[] = [];
  for (const h of history) {
    values.push({ epoch: h.epoch, metric: 'loss', split: 'train', value: h.loss });
    values.push({ epoch: h.epoch, metric: 'accuracy', split: 'train', value: h.accuracy });
    if (h.val_loss !== null) values.push({ epoch: h.epoch, metric: 'loss', split: 'validation', value: h.val_loss });
    if (h.val_accuracy !== null) values.push({ epoch: h.epoch, metric: 'accuracy', split: 'validation', value: h.val_accuracy });
    if (h.test_loss != null) values.push({ epoch: h.epoch, metric: 'loss', split: 'test', value: h.test_loss });
    if (h.test_accuracy != null) values.push({ epoch: h.epoch, metric: 'accuracy', split: 'test', value: h.test_accuracy });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', sort: ['loss', 'accuracy'], title: null } },
    spec: {
      width: 280,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 }, title: 'epoch' },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'split', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function curvesSvg(history: EpochRecord[]): Promise<string> {
  return renderSvg(curvesSpec(history));
}
