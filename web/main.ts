// The web page: engine choice, the Model, Classify (with Grad-CAM) and Fine-tune panels. Built by
// web/build.mjs into dist/app (one bundle, split per engine; no CDN), served by `resnet serve` or
// any static host. `window.resnetPage` exposes the loaded model and the engine to the browser tests
// and the benchmark (bench/web.mjs).
import { tf, engineReport, setWasmBase, setWasmThreads, useBackend, wasmThreads, type EngineName, type EngineStatus } from '../src/index.js';
import { classify, heatmapCanvas, resultCard } from './classify.js';
import { byId, dropTarget, el, message, setStatus } from './dom.js';
import { FineTunePanel } from './finetune.js';
import { describe, loadFromFiles, loadFromUrl, servedModels, type LoadedModel } from './models.js';
import { frameOf, pictureOf, pictureOfFile } from './pictures.js';

// The wasm engine's .wasm files are served next to the page; ?wasmThreads=N sets its threads.
setWasmBase(new URL('./', document.baseURI).href);
const threadsWanted = Number(new URLSearchParams(location.search).get('wasmThreads'));
if (Number.isInteger(threadsWanted) && threadsWanted > 0) setWasmThreads(threadsWanted);

const engineSelect = byId<HTMLSelectElement>('engine');
const modelSelect = byId<HTMLSelectElement>('model-select');
const modelStatus = byId('model-status');
const imageInput = byId<HTMLInputElement>('image-input');
const results = byId('results');

/** The Model panel's model (fine-tuning starts from it) and the one Classify uses (it, or a fine-tuned one). */
let base: LoadedModel | null = null;
let active: LoadedModel | null = null;
let engine: EngineName | null = null;
let video: HTMLVideoElement | null = null;
let stream: MediaStream | null = null;
let busy: Promise<unknown> = Promise.resolve();

/** Runs page actions one after another (a model load never overlaps a classification). */
function queue<T>(work: () => Promise<T>): Promise<T> {
  const next = busy.then(work, work);
  busy = next.catch(() => undefined);
  return next;
}

/** Frees a model nothing uses any more. */
function retire(model: LoadedModel | null): void {
  if (model && model !== base && model !== active && !fineTune.holds(model)) model.dispose();
}

const fineTune: FineTunePanel = new FineTunePanel({
  base: () => base,
  camera: () => video,
  use: (model) => {
    const old = active;
    active = model;
    retire(old);
    setStatus(modelStatus, `Classifying with the fine-tuned model: ${model.metadata.classNames.join(', ')} (Model panel: ${base ? base.source : 'none'}).`);
    void warmUp(model);
  },
  inUse: (model) => active === model || base === model,
});

async function warmUp(loaded: LoadedModel): Promise<void> {
  const [h, w, c] = loaded.metadata.inputShape;
  tf.tidy(() => loaded.model.predict(tf.zeros([1, h, w, c])) as tf.Tensor).dispose();
}

// ---- Engine ----

async function showEngines(statuses: EngineStatus[]): Promise<void> {
  engineSelect.replaceChildren(
    ...statuses.map((s) =>
      el('option', {
        value: s.name,
        disabled: s.reason !== '',
        text: s.reason !== '' ? `${s.name} — unavailable: ${s.reason}` : s.auto ? s.name : `${s.name} — ${s.detail ?? ''}`,
      }),
    ),
  );
  engineSelect.value = engine ?? '';
  const count = engine === 'wasm' ? await wasmThreads() : null;
  const threads = count === null ? '' : ` · ${count} thread${count === 1 ? '' : 's'}${crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`;
  byId('engine-note').textContent = engine ? `running on ${engine}${threads}` : '';
}

async function startEngine(name: EngineName | 'auto'): Promise<void> {
  try {
    engine = await useBackend(name);
  } catch (error) {
    byId('engine-note').textContent = message(error);
  }
  await showEngines(await engineReport());
  if (active) await warmUp(active);
}

engineSelect.addEventListener('change', () => void queue(() => startEngine(engineSelect.value as EngineName)));

// ---- Model ----

async function setModel(load: () => Promise<LoadedModel>, what: string): Promise<void> {
  setStatus(modelStatus, `Loading ${what}…`);
  try {
    const loaded = await load();
    const [oldBase, oldActive] = [base, active];
    fineTune.reset();
    base = loaded;
    active = loaded;
    retire(oldBase);
    retire(oldActive);
    await warmUp(loaded);
    setStatus(modelStatus, describe(loaded));
    modelStatus.dataset.loaded = loaded.source;
    imageInput.disabled = false;
    byId<HTMLButtonElement>('camera-toggle').disabled = false;
  } catch (error) {
    setStatus(modelStatus, message(error), true);
  }
  fineTune.refresh();
}

modelSelect.addEventListener('change', () => {
  const url = modelSelect.value;
  if (url) void queue(() => setModel(() => loadFromUrl(url), modelSelect.selectedOptions[0].textContent ?? url));
});
byId('model-url-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const url = byId<HTMLInputElement>('model-url').value.trim();
  if (url) void queue(() => setModel(() => loadFromUrl(url), url));
});
const modelFiles = byId<HTMLInputElement>('model-files');
const loadFiles = (files: File[]) => void queue(() => setModel(() => loadFromFiles(files), files.map((f) => f.name).join(', ')));
modelFiles.addEventListener('change', () => {
  const files = Array.from(modelFiles.files ?? []);
  modelFiles.value = '';
  if (files.length > 0) loadFiles(files);
});
dropTarget(byId('model-drop'), loadFiles);

// ---- Classify ----

async function classifyPictures(items: { name: string; picture: () => Promise<ReturnType<typeof pictureOf>> }[]): Promise<void> {
  const loaded = active;
  if (!loaded) return;
  for (const item of items) {
    try {
      const picture = await item.picture();
      const result = await classify(loaded, picture);
      const heatmap = heatmapCanvas(loaded, picture, result.ranked[0].index);
      results.prepend(resultCard(item.name, picture, result, heatmap, engine ?? tf.getBackend()));
    } catch (error) {
      results.prepend(el('li', { className: 'result status error', 'data-testid': 'classify-error', text: `${item.name}: ${message(error)}` }));
    }
  }
  results.dataset.count = String(results.querySelectorAll('[data-testid=prediction]').length);
}

function classifyFiles(files: File[]): void {
  const loaded = active;
  if (!loaded) return;
  const shape = loaded.metadata.inputShape;
  void queue(() => classifyPictures(files.map((file) => ({ name: file.name, picture: () => pictureOfFile(file, shape) }))));
}

imageInput.addEventListener('change', () => {
  const files = Array.from(imageInput.files ?? []);
  imageInput.value = '';
  classifyFiles(files);
});
dropTarget(byId('image-drop'), classifyFiles);
byId('results-clear').addEventListener('click', () => {
  results.replaceChildren();
  results.dataset.count = '0';
});

// ---- Webcam ----

byId('camera-toggle').addEventListener('click', () => void toggleCamera());
byId('camera-classify').addEventListener('click', () => {
  if (!video || !active) return;
  const frame = frameOf(video);
  const shape = active.metadata.inputShape;
  void queue(() => classifyPictures([{ name: `webcam ${new Date().toLocaleTimeString()}`, picture: async () => pictureOf(frame, shape) }]));
});

async function toggleCamera(): Promise<void> {
  const button = byId<HTMLButtonElement>('camera-toggle');
  const element = byId<HTMLVideoElement>('camera');
  if (stream) {
    stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video = null;
    element.hidden = true;
    button.textContent = 'Start webcam';
  } else {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      element.srcObject = stream;
      element.hidden = false;
      await element.play();
      video = element;
      button.textContent = 'Stop webcam';
    } catch (error) {
      setStatus(modelStatus, `The webcam did not start: ${message(error)}`, true);
    }
  }
  byId<HTMLButtonElement>('camera-classify').disabled = video === null;
  fineTune.refresh();
}

// ---- Start ----

declare global {
  interface Window {
    resnetPage: {
      tf: typeof tf;
      active(): LoadedModel | null;
      engine(): EngineName | null;
      /** Switches the engine as the select does; resolves with the engine in use. */
      useEngine(name: EngineName | 'auto'): Promise<EngineName | null>;
      wasmThreads(): Promise<number | null>;
      ready: Promise<void>;
      idle(): Promise<unknown>;
    };
  }
}

async function start(): Promise<void> {
  await startEngine('auto');
  const served = await servedModels();
  modelSelect.append(...served.map((m) => el('option', { value: m.url, text: `${m.name} (${m.classNames.length} classes)` })));
  const wanted = new URLSearchParams(location.search).get('model');
  if (wanted) await setModel(() => loadFromUrl(wanted), wanted);
  else if (served.length === 1) {
    modelSelect.value = served[0].url;
    await setModel(() => loadFromUrl(served[0].url), served[0].name);
  } else if (served.length === 0) {
    setStatus(modelStatus, 'No model loaded yet: give a model.json URL or choose a model folder’s files.');
  } else {
    setStatus(modelStatus, `${served.length} models served: choose one.`);
  }
}

window.resnetPage = {
  tf,
  active: () => active,
  engine: () => engine,
  useEngine: (name) => queue(() => startEngine(name)).then(() => engine),
  wasmThreads,
  ready: queue(start),
  idle: () => busy,
};
