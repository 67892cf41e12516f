// Confusion matrix as a heat map with the counts written in the cells.
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './render.js';

export function confusionSpec(matrix: number[][], classNames: string[]): TopLevelSpec {
  const values = matrix.flatMap((row, t) => row.map((count, p) => ({ true: classNames[t], predicted: classNames[p], count })));
  const max = Math.max(1, ...values.map((v) => v.count));
  const side = Math.min(600, Math.max(160, 36 * classNames.length));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    width: side,
    height: side,
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: classNames, title: 'predicted class' },
      y: { field: 'true', type: 'nominal', sort: classNames, title: 'true class' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues', domain: [0, max] } } } },
      {
        mark: { type: 'text', fontSize: 11 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: `datum.count > ${max / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

export function confusionSvg(matrix: number[][], classNames: string[]): Promise<string> {
  return renderSvg(confusionSpec(matrix, classNames));
}
