import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../src/config.js';
import { checkRole } from '../../../src/main.js';
import { checkDetectorDevice } from '../../../src/runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PG = 'postgres://postgres@127.0.0.1:5432/x';
const REDIS = 'redis://127.0.0.1:6379';

function refuses(fn: () => void, re: RegExp) {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof ConfigError, `ConfigError, got ${e}`);
    assert.match(e.message, re);
    assert.match(e.message, /^[A-Za-z][^\n]*\.$/, 'one sentence');
    return true;
  });
}

describe('checkRole', () => {
  test('standalone serve (no database URL, no Redis, in-process workers) is allowed', () => {
    assert.doesNotThrow(() => checkRole('serve', { databaseUrl: null, redisUrl: null }, true));
  });
  test('serve with workers on PostgreSQL and Redis is allowed', () => {
    assert.doesNotThrow(() => checkRole('serve', { databaseUrl: PG, redisUrl: REDIS }, true));
  });
  test('serve --no-workers needs Redis', () => {
    refuses(
      () => checkRole('serve', { databaseUrl: PG, redisUrl: null }, false),
      /serve --no-workers needs REDIS_URL/,
    );
  });
  test('serve --no-workers needs PostgreSQL', () => {
    refuses(
      () => checkRole('serve', { databaseUrl: null, redisUrl: REDIS }, false),
      /serve --no-workers needs DATABASE_URL/,
    );
  });
  test('serve --no-workers on PostgreSQL and Redis is allowed', () => {
    assert.doesNotThrow(() => checkRole('serve', { databaseUrl: PG, redisUrl: REDIS }, false));
  });
  test('a worker needs PostgreSQL (PGlite cannot be shared)', () => {
    refuses(
      () => checkRole('worker', { databaseUrl: null, redisUrl: REDIS }, true),
      /cannot share an embedded PGlite.*DATABASE_URL/,
    );
    refuses(() => checkRole('worker', { databaseUrl: null, redisUrl: null }, true), /DATABASE_URL/);
  });
  test('a worker needs Redis', () => {
    refuses(() => checkRole('worker', { databaseUrl: PG, redisUrl: null }, true), /REDIS_URL/);
  });
  test('a worker on PostgreSQL and Redis is allowed', () => {
    assert.doesNotThrow(() => checkRole('worker', { databaseUrl: PG, redisUrl: REDIS }, true));
  });
});

describe('the command line, as a process', () => {
  const run = (args: string[], env: Record<string, string>) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wd-cli-'));
    try {
      return spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          DATA_DIR: dataDir,
          DATABASE_URL: '',
          REDIS_URL: '',
          LOG_LEVEL: 'silent',
          ...env,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  test('worker without DATABASE_URL exits non-zero with the sentence on stderr', () => {
    const r = run(['worker'], { REDIS_URL: REDIS });
    assert.equal(r.status, 78, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'Configuration error: Workers in other processes cannot share an embedded PGlite database: set DATABASE_URL to a PostgreSQL server.',
    );
    assert.equal(r.stdout, '');
  });

  test('serve --no-workers without REDIS_URL exits non-zero with the sentence on stderr', () => {
    const r = run(['serve', '--no-workers'], {});
    assert.equal(r.status, 78, r.stderr);
    assert.match(r.stderr, /^Configuration error: serve --no-workers needs REDIS_URL/);
  });

  test('an unknown queue or option is a usage error (exit 2) naming it', () => {
    const r = run(['worker', '--queues', 'detect,bogus'], { REDIS_URL: REDIS, DATABASE_URL: PG });
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^Unknown queue "bogus": queues are process, detect, track, finalize, notify, render\./,
    );
    const r2 = run(['worker', '--concurency', '2'], { REDIS_URL: REDIS, DATABASE_URL: PG });
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /^Unknown option --concurency\./);
  });
});

describe('DETECTOR_DEVICE at start-up', () => {
  test('cuda without the CUDA provider is refused with the install sentence; cpu passes', async () => {
    await assert.rejects(
      checkDetectorDevice('cuda:0', () => false),
      (e: Error) =>
        e instanceof ConfigError &&
        /DETECTOR_DEVICE is cuda:0, but .*CUDA provider is not installed.*web-detector gpu setup/.test(
          e.message,
        ),
    );
    await assert.rejects(
      checkDetectorDevice('cuda:0,1', () => false),
      ConfigError,
    );
    await checkDetectorDevice(
      'cuda:1',
      () => true,
      async () => null,
      async () => null,
    );
    await checkDetectorDevice('cpu', () => false);
  });

  test('cuda with missing CUDA libraries is refused with the library sentence', async () => {
    await assert.rejects(
      checkDetectorDevice(
        'cuda',
        () => true,
        async () => null,
        async () => 'libcudnn.so.9 (cuDNN 9) was not found: install it.',
      ),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message === 'DETECTOR_DEVICE is cuda, but libcudnn.so.9 (cuDNN 9) was not found: install it.',
    );
  });

  test('cuda with a provider of another ONNX Runtime version is refused', async () => {
    await assert.rejects(
      checkDetectorDevice(
        'cuda',
        () => true,
        async () =>
          'The CUDA provider was built for ONNX Runtime 1.28.0 but onnxruntime-node is 1.29.0: reinstall.',
        async () => null,
      ),
      (e: Error) =>
        e instanceof ConfigError &&
        /DETECTOR_DEVICE is cuda, but the CUDA provider was built for ONNX Runtime 1\.28\.0/.test(e.message),
    );
  });
});
