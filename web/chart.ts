// The live training chart: the loss of every step and the accuracy of every epoch (training and
// held-out), drawn as SVG polylines. (Two lines on two axes: written here rather than shipping a
// charting library to the page.)
const SVG = 'http://www.w3.org/2000/svg';
const [WIDTH, HEIGHT, PAD] = [480, 160, 28];

export interface ChartData {
  steps: number;
  /** Loss of each step so far. */
  losses: number[];
  /** Accuracy after each epoch, at the step where the epoch ended. */
  accuracy: { step: number; train: number; holdout: number | null }[];
}

function node(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

export function drawChart(svg: SVGSVGElement, data: ChartData): void {
  svg.replaceChildren();
  const maxLoss = Math.max(1e-6, ...data.losses);
  const x = (step: number) => PAD + ((WIDTH - 2 * PAD) * step) / Math.max(1, data.steps);
  const yLoss = (v: number) => HEIGHT - PAD + ((2 * PAD - HEIGHT) * v) / maxLoss;
  const yAcc = (v: number) => HEIGHT - PAD + (2 * PAD - HEIGHT) * v;
  svg.append(node('line', { x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, stroke: '#4a5060' }));
  svg.append(node('text', { x: 2, y: 14, fill: '#0b5cad', 'font-size': 11 }, `loss (max ${maxLoss.toFixed(2)})`));
  svg.append(node('text', { x: WIDTH - 150, y: 14, fill: '#11642b', 'font-size': 11 }, 'accuracy: train ━ held-out ┅'));
  svg.append(node('text', { x: WIDTH / 2 - 20, y: HEIGHT - 8, fill: '#4a5060', 'font-size': 11 }, 'steps'));
  const line = (points: [number, number][], color: string, dash = '') =>
    points.length > 0 &&
    svg.append(node('polyline', { points: points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': dash }));
  line(data.losses.map((v, i) => [x(i + 1), yLoss(v)]), '#0b5cad');
  line(data.accuracy.map((a) => [x(a.step), yAcc(a.train)]), '#11642b');
  line(data.accuracy.filter((a) => a.holdout !== null).map((a) => [x(a.step), yAcc(a.holdout!)]), '#11642b', '5 3');
}
