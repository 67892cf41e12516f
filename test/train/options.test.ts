// Option parsing and validation, in-process (the CLI prints these same UserError messages as one line).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/errors.js';
import { optionsFromFlags, parseAugment, resumeOverrides, type TrainFlags } from '../../src/cli/commands/train.js';
import { DEFAULT_AUGMENT, defaultOptions, validateOptions } from '../../src/train/options.js';
import { defaultOutDir } from '../../src/train/options.js';
import { DEFAULT_RECIPE, RECIPES, recipeNames } from '../../src/train/recipes.js';

const rejects = (flags: TrainFlags, message: RegExp) =>
  assert.throws(() => validateOptions(optionsFromFlags(flags)), (e: Error) => e instanceof UserError && message.test(e.message));

describe('train options', () => {
  test('defaults: the default recipe; resnet20 on 3000 MNIST digits for 2 epochs without --data, resnet50 with it', () => {
    const mnist = defaultOptions();
    assert.equal(mnist.model, 'resnet20');
    assert.equal(mnist.epochs, 2);
    assert.equal(mnist.limit, 3000);
    assert.equal(mnist.recipe, DEFAULT_RECIPE);
    const signs = defaultOptions('x');
    assert.equal(signs.model, 'resnet50');
    assert.equal(signs.limit, undefined);
    assert.equal(signs.recipe, DEFAULT_RECIPE);
    assert.equal(signs.epochs, RECIPES[DEFAULT_RECIPE].settings.epochs);
    assert.equal(defaultOutDir(new Date('2026-01-02T03:04:05.678Z')), 'runs/train-20260102-030405');
  });

  test("recipe 'course' is the first build's recipe exactly: Adam 1e-3 constant, batch 32, 10 epochs, nothing else", () => {
    const course = optionsFromFlags({ data: 'x', recipe: 'course' });
    const { out: _out, ...rest } = course;
    assert.deepEqual(rest, {
      recipe: 'course', data: 'x', model: 'resnet50', epochs: 10, batchSize: 32, lr: 0.001, optimizer: 'adam', momentum: 0.9,
      weightDecay: 0, schedule: 'constant', warmupEpochs: 0, labelSmoothing: 0, clipNorm: 0, earlyStopping: 0, augment: null,
      valSplit: 0.1, seed: 0, backend: 'auto', precision: 'float32', bnRecalibration: 1024,
    });
  });

  test("recipe 'strong' is the flags of docs/training.md's strong recipe; explicit flags override any recipe", () => {
    const strong = optionsFromFlags({ data: 'x', recipe: 'strong' });
    assert.equal(strong.optimizer, 'adamw');
    assert.equal(strong.weightDecay, 0.05);
    assert.equal(strong.schedule, 'cosine');
    assert.equal(strong.warmupEpochs, 1);
    assert.equal(strong.labelSmoothing, 0.1);
    assert.equal(strong.clipNorm, 1);
    assert.equal(strong.epochs, 30);
    assert.deepEqual(strong.augment, { shift: 0.08, rotation: 10, brightness: 0.1, contrast: 0.1, flip: false });
    const mixed = optionsFromFlags({ data: 'x', recipe: 'strong', lr: '0.01', augment: 'off', optimizer: 'sgd' });
    assert.equal(mixed.lr, 0.01);
    assert.equal(mixed.augment, null);
    assert.equal(mixed.optimizer, 'sgd');
    assert.equal(mixed.weightDecay, 0.05, 'what the flags leave alone stays the recipe\'s');
    // A run shorter than the recipe's warm-up keeps the warm-up inside it; an explicit one is checked.
    assert.equal(optionsFromFlags({ data: 'x', recipe: 'strong', epochs: '1' }).warmupEpochs, 1);
    rejects({ data: 'x', recipe: 'strong', epochs: '1', warmupEpochs: '2' }, /--warmup-epochs must be in \[0, epochs=1\]/);
    // Recipes do not share mutable settings between runs.
    strong.augment!.shift = 0.5;
    assert.equal(optionsFromFlags({ data: 'x', recipe: 'strong' }).augment!.shift, 0.08);
  });

  test('every recipe is documented and valid; an unknown recipe is named in one error', () => {
    assert.deepEqual(recipeNames(), Object.keys(RECIPES));
    for (const name of recipeNames()) {
      assert.ok(RECIPES[name as keyof typeof RECIPES].summary.length > 10, name);
      assert.doesNotThrow(() => validateOptions(defaultOptions('x', name)), name);
      assert.doesNotThrow(() => validateOptions(defaultOptions(undefined, name)), name);
    }
    assert.throws(() => optionsFromFlags({ data: 'x', recipe: 'turbo' }), (e: Error) => e instanceof UserError && /--recipe must be one of course, strong.*got 'turbo'/.test(e.message));
    assert.throws(() => validateOptions({ ...defaultOptions('x'), recipe: 'nope' }), /--recipe must be one of/);
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
    assert.equal(parseAugment('off'), null);
    assert.deepEqual(parseAugment('crop=4,flip,shift=0'), { ...DEFAULT_AUGMENT, crop: 4, flip: true, shift: 0 });
    const fast = optionsFromFlags({ data: 'd', optimizer: 'nesterov', schedule: 'linear', tta: 'flip-translate', lookahead: 'every=4', evalData: 'test', evalEvery: '10' });
    assert.equal(fast.optimizer, 'nesterov');
    assert.equal(fast.tta, 'flip-translate');
    assert.equal(fast.evalEvery, 10);
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
    rejects({ tta: 'crop' }, /--tta must be one of none, flip, flip-translate, got 'crop'/);
    rejects({ evalEvery: '0', evalData: 't' }, /--eval-every must be a whole number of epochs in \[1, /);
    rejects({ evalEvery: '1.5', evalData: 't' }, /--eval-every must be a whole number of epochs/);
    rejects({ evalEvery: '2' }, /--eval-every needs --eval-data/);
    rejects({ lookahead: 'every=0' }, /--lookahead every must be a positive integer/);
    rejects({ lookahead: 'decay=1' }, /--lookahead decay must be in \[0, 1\)/);
    rejects({ lookahead: 'speed=2' }, /--lookahead: unknown setting 'speed'/);
    rejects({ seed: '-3' }, /--seed must be a non-negative integer/);
    rejects({ limit: '0' }, /--limit must be a positive integer/);
    rejects({ imageSize: '-8' }, /--image-size must be a whole number of pixels from 1 to 2048/);
    rejects({ augment: 'spin=3' }, /--augment: unknown setting 'spin'/);
    rejects({ augment: 'rotation=-5' }, /--augment rotation must be a non-negative number/);
    rejects({ augment: 'crop=2.5' }, /--augment crop must be a whole number of pixels, got '2.5'/);
    assert.throws(() => validateOptions({ ...defaultOptions('d'), augment: { ...DEFAULT_AUGMENT, crop: 1000 } }), /--augment crop must be a whole number of pixels in \[0, 64\]/);
  });

  test('--resume accepts only --epochs, --backend, --precision and the data runtime (cache, memory, workers) besides itself', () => {
    assert.deepEqual(resumeOverrides({ resume: 'r', epochs: '4', backend: 'cpu' }), { epochs: 4, backend: 'cpu', precision: undefined });
    assert.deepEqual(resumeOverrides({ resume: 'r', precision: 'bfloat16' }), { epochs: undefined, backend: undefined, precision: 'bfloat16' });
    assert.deepEqual(resumeOverrides({ resume: 'r', cache: false, maxMemory: '64', dataWorkers: '2' }), {
      epochs: undefined, backend: undefined, precision: undefined, cacheDir: '', maxMemory: 64, dataWorkers: 2,
    });
    assert.throws(() => resumeOverrides({ resume: 'r', lr: '1', batchSize: '2' }), /only --epochs, --backend, --precision, .*\(got --lr, --batch-size\)/);
    assert.throws(() => resumeOverrides({ resume: 'r', resize: 'crop' }), /\(got --resize\)/);
  });

  test('data options: --resize, --cache-dir / --no-cache, --max-memory, --data-workers', () => {
    const o = optionsFromFlags({ data: 'd', resize: 'pad', cacheDir: '/tmp/c', maxMemory: '512', dataWorkers: '2' });
    assert.equal(o.resize, 'pad');
    assert.equal(o.cacheDir, '/tmp/c');
    assert.equal(o.maxMemory, 512);
    assert.equal(o.dataWorkers, 2);
    assert.equal(optionsFromFlags({ data: 'd', cache: false }).cacheDir, '');
    rejects({ resize: 'stretch' }, /--resize must be one of squash, crop, pad, got 'stretch'/);
    rejects({ maxMemory: '0' }, /--max-memory must be a positive number of megabytes/);
    rejects({ maxMemory: 'lots' }, /--max-memory must be a number/);
    rejects({ dataWorkers: '-1' }, /--data-workers must be an integer from 0 to 16/);
    rejects({ dataWorkers: '1.5' }, /--data-workers must be an integer from 0 to 16/);
  });

  test('--precision is validated with the other options', () => {
    assert.throws(() => validateOptions({ ...defaultOptions(), precision: 'half' }), /--precision must be one of float32, bfloat16; got 'half'/);
    assert.equal(defaultOptions().precision, 'float32');
  });
});
