// The Fine-tune panel: classes with photos (files, drops or webcam frames), each photo run through
// the frozen backbone once when it is added (src/transfer/features.ts: its features are kept as a
// plain array, the photo as 8-bit model-size pixels and a thumbnail; no tensor stays), then a new
// head (and optionally the last stage) trained with progress, a live chart, a stop button and a
// held-out evaluation; the result classifies in the page or downloads as a model folder (.zip)
// that `resnet predict` and `resnet evaluate` read.
import { strToU8, zipSync } from 'fflate';
import { tf, buildClassifier, extractFeatures, FeatureStore, fitClassifier, modelFiles, type Classifier } from '../src/index.js';
import { disposeModels, headInput, lastStageInput, modelUntil } from '../src/models/cut.js';
import { drawChart, type ChartData } from './chart.js';
import { byId, el, message, setStatus, yieldToPage } from './dom.js';
import { explainable, freshCopy, type LoadedModel, type PageMetadata } from './models.js';
import { frameOf, pictureOf, pictureOfFile, scaled, THUMB_SIDE } from './pictures.js';

/** Photos per training batch. */
const BATCH_SIZE = 16;

interface Photo {
  bytes: Uint8Array;
  /** Backbone features for the mode they were computed in. */
  features: Float32Array;
  lastStage: boolean;
}

interface ClassEntry {
  id: number;
  name: HTMLInputElement;
  photos: Photo[];
  element: HTMLElement;
  count: HTMLElement;
  thumbs: HTMLElement;
}

/** The frozen part that computes features, for one base model and one mode. */
interface Extractor {
  lastStage: boolean;
  copy: tf.LayersModel;
  backbone: tf.LayersModel;
}

export interface FineTuneHost {
  /** The model that fine-tuning starts from (the Model panel's). */
  base(): LoadedModel | null;
  /** The webcam's video while it runs, else null. */
  camera(): HTMLVideoElement | null;
  /** Makes a fine-tuned model the one the Classify panel uses. */
  use(model: LoadedModel): void;
  /** Whether `model` is the one the Classify panel uses (then it is not freed here). */
  inUse(model: LoadedModel): boolean;
}

export class FineTunePanel {
  private classes: ClassEntry[] = [];
  private nextId = 1;
  private extractor: Extractor | null = null;
  private trained: LoadedModel | null = null;
  private stopRequested = false;
  private training = false;
  private readonly status = byId('train-status');
  private readonly progress = byId<HTMLProgressElement>('train-progress');
  private readonly loss = byId<HTMLOutputElement>('train-loss');
  private readonly chart = byId('chart') as unknown as SVGSVGElement;

  constructor(private readonly host: FineTuneHost) {
    byId('class-add').addEventListener('click', () => this.addClass());
    byId('train-start').addEventListener('click', () => void this.train());
    byId('train-stop').addEventListener('click', () => {
      this.stopRequested = true;
      setStatus(this.status, 'Stopping after this step…');
    });
    byId('use-model').addEventListener('click', () => this.trained && this.host.use(this.trained));
    byId('download-model').addEventListener('click', () => void this.download());
    byId('last-stage').addEventListener('change', () => this.refresh());
  }

  /** A new base model: classes and photos belong to the old one's input size, so they go. */
  reset(): void {
    this.classes.forEach((c) => c.element.remove());
    this.classes = [];
    this.freeExtractor();
    this.freeTrained();
    drawChart(this.chart, { steps: 1, losses: [], accuracy: [] });
    this.loss.textContent = 'loss —';
    this.loss.dataset.losses = '[]';
    this.progress.value = 0;
    setStatus(this.status, '');
    this.refresh();
  }

  /** Whether `model` is this panel's latest fine-tuned model. */
  holds(model: LoadedModel): boolean {
    return this.trained === model;
  }

  private freeExtractor(): void {
    if (this.extractor) disposeModels(this.extractor.copy);
    this.extractor = null;
  }

  private freeTrained(): void {
    if (this.trained && !this.host.inUse(this.trained)) this.trained.dispose();
    this.trained = null;
  }

  /** Enables what can be done now. */
  refresh(): void {
    const base = this.host.base();
    const ready = base !== null && !this.training;
    (byId('class-add') as HTMLButtonElement).disabled = !ready;
    const filled = this.classes.filter((c) => c.photos.length > 0).length;
    (byId('train-start') as HTMLButtonElement).disabled = !ready || filled < 2 || this.classes.some((c) => c.photos.length === 0);
    (byId('train-stop') as HTMLButtonElement).disabled = !this.training;
    (byId('use-model') as HTMLButtonElement).disabled = this.trained === null || this.training;
    (byId('download-model') as HTMLButtonElement).disabled = this.trained === null || this.training;
    for (const c of this.classes) {
      (c.element.querySelector('.capture') as HTMLButtonElement).disabled = !ready || this.host.camera() === null;
      (c.element.querySelector('input[type=file]') as HTMLInputElement).disabled = !ready;
    }
  }

  private lastStage(): boolean {
    return (byId('last-stage') as HTMLInputElement).checked;
  }

  private async extractorFor(lastStage: boolean): Promise<Extractor> {
    const base = this.host.base();
    if (!base) throw new Error('no model loaded');
    if (this.extractor?.lastStage !== lastStage) {
      this.freeExtractor();
      const copy = await freshCopy(base);
      this.extractor = { lastStage, copy, backbone: modelUntil(copy, lastStage ? lastStageInput(copy) : headInput(copy)) };
    }
    return this.extractor;
  }

  addClass(): void {
    const id = this.nextId++;
    const name = el('input', { type: 'text', value: `class ${id}`, 'aria-label': `name of class ${id}`, 'data-testid': 'class-name' });
    const files = el('input', { type: 'file', multiple: true, accept: 'image/*', 'data-testid': 'class-images', 'aria-label': `add photos to class ${id}` });
    const capture = el('button', { type: 'button', className: 'capture secondary', text: 'Webcam photo' });
    const remove = el('button', { type: 'button', className: 'secondary', text: 'Remove class', 'aria-label': `remove class ${id}` });
    const count = el('span', { className: 'note', 'data-testid': 'class-count', text: '0 photos' });
    const thumbs = el('div', { className: 'thumbs' });
    const element = el('div', { className: 'class', 'data-testid': 'class' }, [
      el('div', { className: 'row' }, [name, el('label', { className: 'drop' }, ['Add photos', files]), capture, remove, count]),
      thumbs,
    ]);
    const entry: ClassEntry = { id, name, photos: [], element, count, thumbs };
    files.addEventListener('change', () => {
      const chosen = Array.from(files.files ?? []);
      files.value = '';
      void this.addPhotos(entry, chosen);
    });
    element.addEventListener('dragover', (e) => e.preventDefault());
    element.addEventListener('drop', (e) => {
      e.preventDefault();
      void this.addPhotos(entry, Array.from(e.dataTransfer?.files ?? []));
    });
    capture.addEventListener('click', () => {
      const video = this.host.camera();
      if (video) void this.addPhotos(entry, [], [video]);
    });
    remove.addEventListener('click', () => {
      this.classes = this.classes.filter((c) => c !== entry);
      element.remove();
      this.refresh();
    });
    this.classes.push(entry);
    byId('classes').append(element);
    name.focus();
    name.select();
    this.refresh();
  }

  /** Decodes, thumbnails and runs the backbone on new photos of a class, a few at a time. */
  private async addPhotos(entry: ClassEntry, files: File[], frames: HTMLVideoElement[] = []): Promise<void> {
    const base = this.host.base();
    if (!base) return;
    const lastStage = this.lastStage();
    const shape = base.metadata.inputShape;
    const total = files.length + frames.length;
    let added = 0;
    try {
      const { backbone } = await this.extractorFor(lastStage);
      for (let start = 0; start < total; start += BATCH_SIZE) {
        const sources = [...files, ...frames].slice(start, start + BATCH_SIZE);
        const pictures = [];
        for (const source of sources) {
          const picture = source instanceof File ? await pictureOfFile(source, shape) : pictureOf(frameOf(source), shape);
          pictures.push(picture);
        }
        const imageLength = shape[0] * shape[1] * shape[2];
        const pixels = new Float32Array(pictures.length * imageLength);
        pictures.forEach((p, i) => pixels.set(p.pixels, i * imageLength));
        const features = extractFeatures(backbone, pixels, pictures.length);
        const length = features.length / pictures.length;
        pictures.forEach((p, i) => {
          entry.photos.push({ bytes: p.bytes, features: features.slice(i * length, (i + 1) * length), lastStage });
          const thumb = scaled(p.display, p.display.width, p.display.height, THUMB_SIDE);
          thumb.setAttribute('aria-hidden', 'true');
          entry.thumbs.append(thumb);
        });
        added += pictures.length;
        entry.count.textContent = `${entry.photos.length} photo${entry.photos.length === 1 ? "" : "s"}`;
        setStatus(this.status, `Added ${added} of ${total} photos to ${entry.name.value}.`);
        await yieldToPage();
      }
    } catch (error) {
      setStatus(this.status, message(error), true);
    }
    this.refresh();
  }

  /** Features of every photo in the current mode (recomputed from the kept pixels when the mode changed). */
  private async features(lastStage: boolean): Promise<void> {
    const stale = this.classes.flatMap((c) => c.photos.filter((p) => p.lastStage !== lastStage));
    if (stale.length === 0) return;
    const { backbone } = await this.extractorFor(lastStage);
    for (const [i, photo] of stale.entries()) {
      photo.features = extractFeatures(backbone, Float32Array.from(photo.bytes, (v) => v / 255), 1);
      photo.lastStage = lastStage;
      if (i % 8 === 7) {
        setStatus(this.status, `Recomputing features: ${i + 1} of ${stale.length} photos`);
        await yieldToPage();
      }
    }
  }

  async train(): Promise<void> {
    const base = this.host.base();
    if (!base || this.training) return;
    const epochs = Number((byId('epochs') as HTMLInputElement).value);
    const holdout = Number((byId('holdout') as HTMLInputElement).value) / 100;
    const lr = Number((byId('lr') as HTMLSelectElement).value);
    if (!Number.isInteger(epochs) || epochs < 1 || epochs > 200) return setStatus(this.status, 'Epochs must be a whole number from 1 to 200.', true);
    if (!(holdout >= 0 && holdout <= 0.5)) return setStatus(this.status, 'Held out must be between 0 and 50 %.', true);
    const names = this.classes.map((c) => c.name.value.trim() || `class ${c.id}`);
    if (new Set(names).size !== names.length) return setStatus(this.status, 'Two classes have the same name: rename one.', true);
    const lastStage = this.lastStage();
    this.training = true;
    this.stopRequested = false;
    this.status.dataset.holdoutAccuracy = '';
    setStatus(this.status, 'Preparing the training…');
    this.refresh();
    let classifier: Classifier | null = null;
    let copy: tf.LayersModel | null = null;
    try {
      await this.features(lastStage);
      copy = await freshCopy(base);
      classifier = buildClassifier(copy, names.length, lastStage);
      const store = new FeatureStore(classifier.featureShape);
      this.classes.forEach((c, label) => c.photos.forEach((p) => store.add(label, p.features)));
      const data = store.dataset(names);
      const chart: ChartData = { steps: 0, losses: [], accuracy: [] };
      const epochLosses: number[] = [];
      let stepsDone = 0;
      setStatus(this.status, `Training on ${store.size} photos…`);
      const result = await fitClassifier(
        classifier.top,
        data,
        { epochs, batchSize: BATCH_SIZE, lr, holdout, seed: 0 },
        {
          onStep: async (s) => {
            stepsDone++;
            chart.steps = s.steps * s.epochs;
            chart.losses.push(s.loss);
            this.progress.max = chart.steps;
            this.progress.value = stepsDone;
            this.loss.textContent = `loss ${s.loss.toFixed(4)} · epoch ${s.epoch}/${s.epochs} · step ${s.step}/${s.steps}`;
            drawChart(this.chart, chart);
            await yieldToPage();
          },
          onEpoch: (e) => {
            epochLosses.push(e.loss);
            this.loss.dataset.losses = JSON.stringify(epochLosses);
            chart.accuracy.push({ step: stepsDone, train: e.accuracy, holdout: e.holdoutAccuracy });
            drawChart(this.chart, chart);
          },
          shouldStop: () => this.stopRequested,
        },
      );
      this.freeTrained();
      const metadata: PageMetadata = { model: base.metadata.model, classNames: names, inputShape: base.metadata.inputShape, epoch: result.epochs.length };
      if (base.metadata.preprocessing !== undefined) metadata.preprocessing = base.metadata.preprocessing;
      const [trainedCopy, full] = [copy, classifier.full];
      this.trained = { model: full, metadata, artifacts: base.artifacts, source: 'fine-tuned in this page', parts: explainable(full), dispose: () => disposeModels(trainedCopy, full) };
      classifier = null;
      copy = null;
      const last = result.epochs[result.epochs.length - 1];
      const held = result.holdout
        ? `held-out accuracy ${(100 * result.holdout.accuracy).toFixed(1)}% on ${result.holdoutCount} photos (loss ${result.holdout.loss.toFixed(4)})`
        : 'no photos held out';
      setStatus(
        this.status,
        `${result.stopped ? 'Stopped' : 'Done'} after ${result.epochs.length} epochs on ${result.trainCount} photos: training loss ${last ? last.loss.toFixed(4) : '—'}, ${held}.`,
      );
      this.status.dataset.holdoutAccuracy = result.holdout ? String(result.holdout.accuracy) : '';
    } catch (error) {
      setStatus(this.status, message(error), true);
    } finally {
      if (copy) disposeModels(copy, ...(classifier ? [classifier.full] : [])); // training failed: its copy goes
      this.training = false;
      this.refresh();
    }
  }

  /** The trained model as a model folder in a .zip: model.json (with the metadata `resnet train` writes), weights.bin, labels.txt. */
  private async download(): Promise<void> {
    if (!this.trained) return;
    const files = await modelFiles(this.trained.model, this.trained.metadata);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const folder = `fine-tuned-${stamp}`;
    const zip = zipSync({
      [`${folder}/model.json`]: strToU8(files['model.json'] as string),
      [`${folder}/weights.bin`]: [files['weights.bin'] as Uint8Array, { level: 0 }],
      [`${folder}/labels.txt`]: strToU8(this.trained.metadata.classNames.join('\n') + '\n'),
    });
    const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
    const link = el('a', { href: url, download: `${folder}.zip` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    setStatus(this.status, `Downloaded ${folder}.zip: unzip it and run 'resnet predict --model ${folder} PHOTO...'.`);
  }
}
