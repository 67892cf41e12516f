import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRateAt, type ScheduleSettings } from '../../src/train/schedule.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${a} != ${b}`);

describe('learning-rate schedules (values worked by hand)', () => {
  const base: ScheduleSettings = { schedule: 'constant', lr: 0.1, epochs: 4, warmupEpochs: 0 };

  test('constant: the same rate at every step', () => {
    for (const [e, s] of [[0, 0], [1, 3], [3, 9]]) close(learningRateAt(base, e, s, 10), 0.1);
  });

  test('cosine over 4 epochs, 1 step each: 0.1, 0.1*(1+cos(pi/4))/2, 0.05, 0.1*(1+cos(3pi/4))/2', () => {
    const c = { ...base, schedule: 'cosine' as const };
    close(learningRateAt(c, 0, 0, 1), 0.1);
    close(learningRateAt(c, 1, 0, 1), 0.085355339059327);
    close(learningRateAt(c, 2, 0, 1), 0.05);
    close(learningRateAt(c, 3, 0, 1), 0.014644660940673);
  });

  test('step: x0.1 from half-way, x0.01 from three quarters', () => {
    const s = { ...base, schedule: 'step' as const };
    close(learningRateAt(s, 1, 9, 10), 0.1);
    close(learningRateAt(s, 2, 0, 10), 0.01);
    close(learningRateAt(s, 3, 0, 10), 0.001);
  });

  test('linear after a 1-epoch warm-up over 3 epochs of 4 steps: 0.025 .. 0.1, then 0.1 * (1 - t) down towards 0', () => {
    const l = { ...base, schedule: 'linear' as const, epochs: 3, warmupEpochs: 1 };
    close(learningRateAt(l, 0, 0, 4), 0.025);
    close(learningRateAt(l, 0, 3, 4), 0.1);
    close(learningRateAt(l, 1, 0, 4), 0.1); // t = 0
    close(learningRateAt(l, 1, 2, 4), 0.075); // t = 0.5 / 2
    close(learningRateAt(l, 2, 0, 4), 0.05); // t = 1 / 2
    close(learningRateAt(l, 2, 3, 4), 0.0125); // t = 1.75 / 2
  });

  test('warm-up rises linearly to the peak at its last step, then the schedule starts from the peak', () => {
    const w = { ...base, schedule: 'cosine' as const, epochs: 3, warmupEpochs: 1 };
    close(learningRateAt(w, 0, 0, 4), 0.025); // 1/4 of an epoch done
    close(learningRateAt(w, 0, 1, 4), 0.05);
    close(learningRateAt(w, 0, 3, 4), 0.1);
    close(learningRateAt(w, 1, 0, 4), 0.1); // cosine t = 0
    close(learningRateAt(w, 2, 0, 4), 0.05); // cosine t = 1/2 of the 2 remaining epochs
  });
});
