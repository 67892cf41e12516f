// Vega-Lite specification -> SVG text, headless (vega's 'none' renderer; no canvas or browser needed).
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
