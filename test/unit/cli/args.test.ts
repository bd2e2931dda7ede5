import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFlags, positiveInt, UsageError } from '../../../src/cli/args.js';

describe('parseFlags', () => {
  const spec = { queues: 'string', concurrency: 'string', 'no-workers': 'boolean' } as const;

  test('--name value, --name=value, boolean flags and positionals', () => {
    assert.deepEqual(
      parseFlags(['a.mp4', '--queues', 'detect,process', '--concurrency=3', '--no-workers', 'b'], spec),
      {
        flags: { queues: 'detect,process', concurrency: '3', 'no-workers': true },
        positional: ['a.mp4', 'b'],
      },
    );
  });

  test('an empty argv gives nothing', () => {
    assert.deepEqual(parseFlags([], spec), { flags: {}, positional: [] });
  });

  test('a value may contain "=" and start with a dash when given with =', () => {
    assert.deepEqual(parseFlags(['--queues=a=b'], spec).flags, { queues: 'a=b' });
    assert.deepEqual(parseFlags(['--queues=-x'], spec).flags, { queues: '-x' });
  });

  test('the last occurrence wins', () => {
    assert.equal(parseFlags(['--concurrency', '1', '--concurrency', '2'], spec).flags.concurrency, '2');
  });

  test('unknown options are usage errors naming the option', () => {
    assert.throws(
      () => parseFlags(['--queue', 'detect'], spec),
      (e: Error) => e instanceof UsageError && e.message === 'Unknown option --queue.',
    );
    assert.throws(() => parseFlags(['--'], spec), UsageError);
  });

  test('a string option needs a value', () => {
    assert.throws(
      () => parseFlags(['--queues'], spec),
      (e: Error) => e instanceof UsageError && e.message === '--queues needs a value.',
    );
    assert.throws(() => parseFlags(['--queues='], spec), /--queues needs a value\./);
  });

  test('a boolean flag takes no value', () => {
    assert.throws(
      () => parseFlags(['--no-workers=true'], spec),
      (e: Error) => e instanceof UsageError && e.message === '--no-workers takes no value.',
    );
  });

  test('single-dash arguments are positionals', () => {
    assert.deepEqual(parseFlags(['-'], spec).positional, ['-']);
  });
});

describe('positiveInt', () => {
  test('absent gives the default', () => {
    assert.equal(positiveInt('concurrency', undefined, 4), 4);
  });
  test('parses positive integers', () => {
    assert.equal(positiveInt('concurrency', '1', 4), 1);
    assert.equal(positiveInt('concurrency', '16', 4), 16);
  });
  for (const bad of ['0', '-1', '1.5', 'abc', '', '0x10', '1e1', true]) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => positiveInt('concurrency', bad, 4),
        (e: Error) => e instanceof UsageError && e.message === '--concurrency must be a positive integer.',
      );
    });
  }
});
