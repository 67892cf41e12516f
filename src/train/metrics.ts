// Classification metrics from a confusion matrix (rows: true class, columns: predicted class).

export interface ClassMetrics {
  accuracy: number;
  /** precision[c] = TP / (TP + FP); NaN-free: 0 when class c was never predicted. */
  precision: number[];
  /** recall[c] = TP / (TP + FN); 0 when class c has no examples. */
  recall: number[];
}

export function confusionMatrix(trueLabels: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < trueLabels.length; i++) matrix[trueLabels[i]][predicted[i]]++;
  return matrix;
}

export function metricsFromConfusion(matrix: number[][]): ClassMetrics {
  const k = matrix.length;
  let correct = 0;
  let total = 0;
  const precision: number[] = [];
  const recall: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    let predictedAsC = 0;
    let actuallyC = 0;
    for (let j = 0; j < k; j++) {
      predictedAsC += matrix[j][c];
      actuallyC += matrix[c][j];
    }
    correct += tp;
    total += actuallyC;
    precision.push(predictedAsC === 0 ? 0 : tp / predictedAsC);
    recall.push(actuallyC === 0 ? 0 : tp / actuallyC);
  }
  return { accuracy: total === 0 ? 0 : correct / total, precision, recall };
}

/** The confusion matrix as an aligned text table, with per-class precision and recall columns. */
export function formatConfusion(matrix: number[][], classNames: string[], m: ClassMetrics): string {
  const header = ['true \\ predicted', ...classNames, 'recall'];
  const rows = matrix.map((row, c) => [classNames[c], ...row.map(String), m.recall[c].toFixed(3)]);
  rows.push(['precision', ...m.precision.map((p) => p.toFixed(3)), '']);
  const table = [header, ...rows];
  const widths = header.map((_, j) => Math.max(...table.map((r) => r[j].length)));
  return table.map((r) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n');
}
