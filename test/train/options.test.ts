// Option parsing and validation, in-process (the CLI prints these same UserError messages as one line).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { optionsFromFlags, parseAugment, resumeOverrides, type TrainFlags } from '../../src/cli/commands/train.js';
import { DEFAULT_AUGMENT, defaultOptions, validateOptions } from '../../src/train/options.js';
import { defaultOutDir } from '../../src/train/options.js';

const rejects = (flags: TrainFlags, message: RegExp) =>
  assert.throws(() => validateOptions(optionsFromFlags(flags)), (e: Error) => e instanceof UserError && message.test(e.message));

describe('train options', () => {
  test('defaults: resnet20 on 3000 MNIST digits for 2 epochs; resnet50 for 10 epochs with --data', () => {
    const mnist = defaultOptions();
    assert.equal(mnist.model, 'resnet20');
    assert.equal(mnist.epochs, 2);
    assert.equal(mnist.limit, 3000);
    const signs = defaultOptions('x');
    assert.equal(signs.model, 'resnet50');
    assert.equal(signs.epochs, 10);
    assert.equal(signs.limit, undefined);
    assert.equal(signs.lr, 0.001);
    assert.equal(signs.batchSize, 32);
    assert.equal(defaultOutDir(new Date('2026-01-02T03:04:05.678Z')), 'runs/train-20260102-030405');
  });

  test('flags are parsed into the options', () => {
    const o = optionsFromFlags({ data: 'd', epochs: '3', lr: '0.05', optimizer: 'sgd', schedule: 'cosine', warmupEpochs: '0.5', augment: 'rotation=5,flip', limit: '40', imageSize: '32' });
    assert.equal(o.epochs, 3);
    assert.equal(o.lr, 0.05);
    assert.equal(o.optimizer, 'sgd');
    assert.equal(o.warmupEpochs, 0.5);
    assert.deepEqual(o.augment, { ...DEFAULT_AUGMENT, rotation: 5, flip: true });
    assert.equal(o.limit, 40);
    assert.equal(o.imageSize, 32);
    assert.doesNotThrow(() => validateOptions(o));
    assert.deepEqual(parseAugment(true), DEFAULT_AUGMENT);
    assert.deepEqual(parseAugment('crop=4,flip,shift=0'), { ...DEFAULT_AUGMENT, crop: 4, flip: true, shift: 0 });
    const fast = optionsFromFlags({ data: 'd', optimizer: 'nesterov', schedule: 'linear', tta: 'flip', lookahead: 'every=4', evalData: 'test' });
    assert.equal(fast.optimizer, 'nesterov');
    assert.equal(fast.tta, 'flip');
    assert.equal(fast.evalData, 'test');
    assert.deepEqual(fast.lookahead, { every: 4, decay: 0.95, power: 3, start: 3 });
    assert.doesNotThrow(() => validateOptions(fast));
  });

  test('each bad value is named in a UserError', () => {
    rejects({ epochs: '-1' }, /--epochs must be a positive integer, got '-1'/);
    rejects({ epochs: 'ten' }, /--epochs must be a number, got 'ten'/);
    rejects({ epochs: '' }, /--epochs must be a number/);
    rejects({ lr: '0' }, /--lr must be a positive number/);
    rejects({ batchSize: '2.5' }, /--batch-size must be a positive integer/);
    rejects({ valSplit: '1' }, /--val-split must be in \[0, 1\)/);
    rejects({ labelSmoothing: '-0.1' }, /--label-smoothing must be in \[0, 1\)/);
    rejects({ earlyStopping: '1.5' }, /--early-stopping must be a non-negative integer/);
    rejects({ warmupEpochs: '5', epochs: '2' }, /--warmup-epochs must be in \[0, epochs=2\]/);
    rejects({ momentum: '1' }, /--momentum must be in \[0, 1\)/);
    rejects({ weightDecay: '-1' }, /--weight-decay must be >= 0/);
    rejects({ optimizer: 'rmsprop' }, /--optimizer must be one of adam, sgd, adamw/);
    rejects({ schedule: 'exponential' }, /--schedule must be one of constant, cosine, step, linear/);
    rejects({ biasLrScale: '0' }, /--bias-lr-scale must be a positive number/);
    rejects({ biasLrScale: '64', optimizer: 'adam' }, /--bias-lr-scale applies to the sgd and nesterov optimizers, not adam/);
    rejects({ tta: 'crop' }, /--tta must be one of none, flip, got 'crop'/);
    rejects({ lookahead: 'every=0' }, /--lookahead every must be a positive integer/);
    rejects({ lookahead: 'decay=1' }, /--lookahead decay must be in \[0, 1\)/);
    rejects({ lookahead: 'speed=2' }, /--lookahead: unknown setting 'speed'/);
    rejects({ seed: '-3' }, /--seed must be a non-negative integer/);
    rejects({ limit: '0' }, /--limit must be a positive integer/);
    rejects({ imageSize: '-8' }, /--image-size must be a positive integer/);
    rejects({ augment: 'spin=3' }, /--augment: unknown setting 'spin'/);
    rejects({ augment: 'rotation=-5' }, /--augment rotation must be a non-negative number/);
    rejects({ augment: 'crop=2.5' }, /--augment crop must be a whole number of pixels, got '2.5'/);
    assert.throws(() => validateOptions({ ...defaultOptions('d'), augment: { ...DEFAULT_AUGMENT, crop: 1000 } }), /--augment crop must be a whole number of pixels in \[0, 64\]/);
  });

  test('--resume accepts only --epochs, --backend and --precision besides itself', () => {
    assert.deepEqual(resumeOverrides({ resume: 'r', epochs: '4', backend: 'cpu' }), { epochs: 4, backend: 'cpu', precision: undefined });
    assert.deepEqual(resumeOverrides({ resume: 'r', precision: 'bfloat16' }), { epochs: undefined, backend: undefined, precision: 'bfloat16' });
    assert.throws(() => resumeOverrides({ resume: 'r', lr: '1', batchSize: '2' }), /only --epochs, --backend and --precision .*\(got --lr, --batch-size\)/);
  });

  test('--precision is validated with the other options', () => {
    assert.throws(() => validateOptions({ ...defaultOptions(), precision: 'half' }), /--precision must be one of float32, bfloat16; got 'half'/);
    assert.equal(defaultOptions().precision, 'float32');
  });
});
