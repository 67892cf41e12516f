// A model summary with Keras's columns: layer (type), output shape, parameter count, inbound layers,
// and the totals split into trainable and non-trainable parameters.
import type * as tf from '../tf.js';

export interface SummaryRow {
  name: string;
  className: string;
  outputShape: (number | null)[] | (number | null)[][];
  params: number;
  connectedTo: string[];
}

export interface ModelSummary {
  name: string;
  layers: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

const count = (weights: tf.LayerVariable[]) => weights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);

export function summarize(model: tf.LayersModel): ModelSummary {
  const layers = model.layers.map((layer) => ({
    name: layer.name,
    className: layer.getClassName(),
    outputShape: layer.outputShape as SummaryRow['outputShape'],
    params: layer.countParams(),
    connectedTo: layer.inboundNodes.flatMap((node) => node.inboundLayers.map((l) => l.name)),
  }));
  const trainableParams = count(model.trainableWeights);
  const nonTrainableParams = count(model.nonTrainableWeights);
  return { name: model.name, layers, totalParams: trainableParams + nonTrainableParams, trainableParams, nonTrainableParams };
}

const formatShape = (shape: SummaryRow['outputShape']) => JSON.stringify(shape).replaceAll('null', 'None').replaceAll('[', '(').replaceAll(']', ')').replaceAll(',', ', ');

/** Renders the summary as the fixed-width table `model.summary()` prints in Keras. */
export function formatSummary(summary: ModelSummary, lineLength = 110): string {
  const widths = [38, 24, 12];
  const pad = (cells: string[]) => cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join(' ').trimEnd();
  const lines = [`Model: "${summary.name}"`, '_'.repeat(lineLength), pad(['Layer (type)', 'Output Shape', 'Param #', 'Connected to']), '='.repeat(lineLength)];
  for (const row of summary.layers) {
    lines.push(pad([`${row.name} (${row.className})`, formatShape(row.outputShape), row.params.toLocaleString('en-US'), row.connectedTo.join(', ')]));
  }
  lines.push('='.repeat(lineLength));
  lines.push(`Total params: ${summary.totalParams.toLocaleString('en-US')}`);
  lines.push(`Trainable params: ${summary.trainableParams.toLocaleString('en-US')}`);
  lines.push(`Non-trainable params: ${summary.nonTrainableParams.toLocaleString('en-US')}`);
  lines.push('_'.repeat(lineLength));
  return lines.join('\n');
}
