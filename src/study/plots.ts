// SVG figures of the gradient-flow study, drawn with vega-lite specs rendered headless by vega
// (`view.toSVG()`, no browser or canvas needed).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { StudyRun } from './gradients.js';

/** Training loss is plotted as a trailing moving average over this many steps (one batch is noisy). */
export const LOSS_SMOOTHING_STEPS = 10;
/** Panel size of every figure, in pixels. */
const PANEL_WIDTH = 220;
const PANEL_HEIGHT = 160;

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function configLabel(run: Pick<StudyRun, 'batchNorm' | 'init'>): string {
  return `${run.batchNorm ? 'with BN' : 'without BN'}, ${run.init} init`;
}

const networkLabel = (kind: 'plain' | 'residual', depth: number) => (kind === 'plain' ? `plain-${depth}` : `ResNet-${depth}`);

/** Up to `count` recorded steps spread over the run: the first, the last and evenly in between. */
export function momentsOf(steps: number[], count = 3): number[] {
  if (steps.length <= count) return steps;
  const picks = new Set<number>();
  for (let i = 0; i < count; i++) picks.add(steps[Math.round((i * (steps.length - 1)) / (count - 1))]);
  return [...picks];
}

/**
 * Gradient norm of every weight layer (log scale) against its position, input -> output, plain vs
 * residual; one row per depth, one column per moment of training. `runs`: one configuration.
 */
export function gradientNormsSpec(runs: StudyRun[]): vl.TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  for (const run of runs) {
    const recorded = run.plain.layerGradNorms.map((r) => r.step);
    const moments = new Set(momentsOf(recorded.length ? recorded : run.residual.layerGradNorms.map((r) => r.step)));
    for (const kind of ['plain', 'residual'] as const) {
      for (const record of run[kind].layerGradNorms) {
        if (!moments.has(record.step)) continue;
        record.norms.forEach((norm, i) => rows.push({ depth: `depth ${run.depth}`, step: `step ${record.step}`, order: record.step, network: kind, layer: i + 1, norm }));
      }
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    title: `Gradient norm of each weight layer, ${runs[0] ? configLabel(runs[0]) : ''}`,
    data: { values: rows },
    facet: {
      row: { field: 'depth', type: 'nominal', title: null },
      column: { field: 'step', type: 'ordinal', title: 'training step', sort: { field: 'order' } },
    },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      mark: { type: 'line', point: { size: 12 } },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'weight layer (1 = first conv)' },
        y: { field: 'norm', type: 'quantitative', scale: { type: 'log' }, title: '‖∂loss/∂kernel‖₂' },
        color: { field: 'network', type: 'nominal', scale: { domain: ['plain', 'residual'] } },
      },
    },
    resolve: { scale: { x: 'independent' } },
  };
}

/** Trailing moving average of `values` over `window` entries. */
export function movingAverage(values: number[], window: number): number[] {
  let sum = 0;
  return values.map((v, i) => {
    sum += v - (i >= window ? values[i - window] : 0);
    return sum / Math.min(i + 1, window);
  });
}

/**
 * Training loss (moving average, log scale) of plain and residual networks of every depth; one panel
 * per configuration. The y axis spans the curves of the networks that did not diverge (up to twice
 * their highest value); a diverging curve leaves the panel at the top.
 */
export function lossCurvesSpec(runs: StudyRun[]): vl.TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  let [low, high] = [Infinity, 0];
  for (const run of runs) {
    for (const kind of ['plain', 'residual'] as const) {
      const smoothed = movingAverage(run[kind].loss, LOSS_SMOOTHING_STEPS);
      if (run[kind].divergedAtStep === null) {
        low = Math.min(low, ...smoothed);
        high = Math.max(high, ...smoothed);
      }
      smoothed.forEach((loss, step) => rows.push({ configuration: configLabel(run), network: networkLabel(kind, run.depth), kind, step, loss }));
    }
  }
  const domain = Number.isFinite(low) && high > 0 ? [low / 1.25, high * 2] : undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    title: `Training loss (moving average over ${LOSS_SMOOTHING_STEPS} steps)`,
    data: { values: rows },
    facet: { column: { field: 'configuration', type: 'nominal', title: null } },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      mark: { type: 'line', clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'SGD step' },
        y: { field: 'loss', type: 'quantitative', scale: { type: 'log', ...(domain && { domain }) }, title: 'cross-entropy' },
        color: { field: 'network', type: 'nominal' },
        strokeDash: { field: 'kind', type: 'nominal', scale: { domain: ['residual', 'plain'] }, legend: null },
      },
    },
  };
}

/**
 * The first convolution through training, plain vs residual, one column per configuration: its
 * gradient norm (top) and that norm relative to the kernel's own norm (bottom: the size of an SGD
 * step relative to the weights, which is what batch norm's scale invariance leaves meaningful).
 */
export function firstLayerSpec(runs: StudyRun[]): vl.TopLevelSpec {
  const rows: Record<string, unknown>[] = [];
  for (const run of runs) {
    for (const kind of ['plain', 'residual'] as const) {
      for (const r of run[kind].layerGradNorms) {
        const common = { configuration: configLabel(run), network: networkLabel(kind, run.depth), kind, step: r.step };
        rows.push({ ...common, measure: '‖g‖ gradient norm', order: 0, value: r.norms[0] });
        rows.push({ ...common, measure: '‖g‖ / ‖w‖ relative', order: 1, value: r.norms[0] / r.weightNorms[0] });
      }
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    title: 'The first convolution during training: gradient norm, and gradient norm / kernel norm',
    data: { values: rows },
    facet: {
      row: { field: 'measure', type: 'nominal', title: null, sort: { field: 'order' } },
      column: { field: 'configuration', type: 'nominal', title: null },
    },
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      mark: { type: 'line', point: { size: 12 } },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'SGD step' },
        y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'first conv' },
        color: { field: 'network', type: 'nominal' },
        strokeDash: { field: 'kind', type: 'nominal', scale: { domain: ['residual', 'plain'] }, legend: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** File name (without folder) of each figure, and its SVG text. */
export async function studyFigures(runs: StudyRun[]): Promise<{ file: string; svg: string }[]> {
  const configs = [...new Map(runs.map((r) => [`${r.batchNorm ? 'bn' : 'nobn'}-${r.init}`, r])).keys()];
  const figures: { file: string; svg: string }[] = [];
  for (const config of configs) {
    const ofConfig = runs.filter((r) => `${r.batchNorm ? 'bn' : 'nobn'}-${r.init}` === config);
    figures.push({ file: `gradients-${config}.svg`, svg: await renderSvg(gradientNormsSpec(ofConfig)) });
  }
  figures.push({ file: 'loss.svg', svg: await renderSvg(lossCurvesSpec(runs)) });
  figures.push({ file: 'first-layer.svg', svg: await renderSvg(firstLayerSpec(runs)) });
  return figures;
}
