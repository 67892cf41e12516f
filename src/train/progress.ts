// Progress of a training run: a live bar per epoch on a terminal (step, ETA, running loss and
// accuracy), plain lines otherwise (logs, pipes, tests).
import cliProgress from 'cli-progress';
import type { EpochRecord } from '../plot/curves.js';

export interface Progress {
  startEpoch(epoch: number, epochs: number, steps: number): void;
  /** After step `step` (1-based) with the running means over the epoch so far. */
  step(step: number, loss: number, accuracy: number): void;
  endEpoch(record: EpochRecord, note: string): void;
  /** A line outside the bar. */
  log(line: string): void;
  /** While the data is decoded: `done` of `total` images. */
  loading?(done: number, total: number): void;
}

/** Decodes of fewer images than this finish in seconds: no progress for them. */
const LOADING_PROGRESS_MIN = 2000;

export function epochLine(r: EpochRecord, epochs: number): string {
  const val = r.val_loss === null ? '' : `  val_loss ${r.val_loss.toFixed(4)}  val_acc ${r.val_accuracy!.toFixed(4)}`;
  const test = r.test_loss == null ? '' : `  test_loss ${r.test_loss.toFixed(4)}  test_acc ${r.test_accuracy!.toFixed(4)}`;
  return `epoch ${r.epoch}/${epochs}  loss ${r.loss.toFixed(4)}  acc ${r.accuracy.toFixed(4)}${val}${test}  lr ${r.lr.toExponential(2)}  ${r.seconds.toFixed(1)}s`;
}

export function makeProgress(out: NodeJS.WriteStream = process.stdout, quiet = false): Progress {
  if (quiet) return { startEpoch() {}, step() {}, endEpoch() {}, log() {} };
  return out.isTTY ? barProgress(out) : lineProgress(out);
}

function lineProgress(out: NodeJS.WriteStream): Progress {
  let every = 0;
  let total = 0;
  let current = 0;
  let epochs = 0;
  return {
    startEpoch(epoch, n, steps) {
      current = epoch;
      epochs = n;
      total = steps;
      every = steps >= 20 ? Math.ceil(steps / 10) : 0; // a tenth of the way at a time on long epochs
    },
    step(step, loss, accuracy) {
      if (every > 0 && step % every === 0 && step < total) {
        out.write(`  epoch ${current}/${epochs} step ${step}/${total}  loss ${loss.toFixed(4)}  acc ${accuracy.toFixed(4)}\n`);
      }
    },
    endEpoch(record, note) {
      out.write(`${epochLine(record, epochs)}${note}\n`);
    },
    log(line) {
      out.write(`${line}\n`);
    },
    loading(done, total) {
      // A line at each tenth of a long decode.
      if (total >= LOADING_PROGRESS_MIN && done < total && Math.floor((10 * done) / total) > Math.floor((10 * (done - 1)) / total)) {
        out.write(`  decoding images: ${done}/${total}\n`);
      }
    },
  };
}

function barProgress(out: NodeJS.WriteStream): Progress {
  let bar: cliProgress.SingleBar | null = null;
  let loadingBar: cliProgress.SingleBar | null = null;
  let epochs = 0;
  return {
    loading(done, total) {
      if (total < LOADING_PROGRESS_MIN) return;
      if (!loadingBar) {
        loadingBar = new cliProgress.SingleBar(
          { stream: out, format: 'decoding images {bar} {value}/{total} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, etaBuffer: 500 },
          cliProgress.Presets.shades_classic,
        );
        loadingBar.start(total, 0);
      }
      loadingBar.update(done);
      if (done >= total) {
        loadingBar.stop();
        loadingBar = null;
      }
    },
    startEpoch(epoch, n, steps) {
      epochs = n;
      bar = new cliProgress.SingleBar(
        {
          stream: out,
          format: `epoch ${epoch}/${n} {bar} {value}/{total} | ETA {eta_formatted} | loss {loss} acc {acc}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(steps, 0, { loss: '-', acc: '-' });
    },
    step(step, loss, accuracy) {
      bar?.update(step, { loss: loss.toFixed(4), acc: accuracy.toFixed(4) });
    },
    endEpoch(record, note) {
      bar?.stop();
      bar = null;
      out.write(`${epochLine(record, epochs)}${note}\n`);
    },
    log(line) {
      out.write(`${line}\n`);
    },
  };
}
