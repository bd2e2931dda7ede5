import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'wd-config-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const dir = tmp();
    const c = loadConfig({ DATA_DIR: dir });
    assert.equal(c.port, 3000);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.dataDir, dir);
    assert.equal(c.dbDir, join(dir, 'db'));
    assert.equal(c.storageDir, join(dir, 'storage'));
    assert.equal(c.databaseUrl, null);
    assert.equal(c.redisUrl, null);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.maxUploadBytes, 4 * 1024 ** 3);
    assert.equal(c.maxVideoSeconds, 3 * 3600);
    assert.equal(c.registrationEnabled, true);
    assert.equal(c.accessTokenTtlSeconds, 900);
    assert.equal(c.refreshTokenTtlSeconds, 30 * 24 * 3600);
    assert.equal(c.loginRateLimitPerMinute, 10);
    assert.equal(c.modelsDir, null);
    assert.equal(c.detectorDevice, 'cpu');
    assert.ok(c.detectorThreads >= 1);
    assert.equal(c.detectorBatchSize, 4);
    assert.equal(c.workerConcurrency, 1);
    assert.equal(c.chunkSeconds, 10);
    assert.equal(c.taskAttempts, 3);
    assert.equal(c.callbackAllowlist, null);
    assert.ok(c.callbackSecret.length >= 32);
    assert.equal(c.mediaUrlTtlSeconds, 3600);
    assert.equal(c.queuePrefix, 'wd');
    assert.equal(c.queueLockMs, 30_000);
    assert.equal(c.queueStalledMs, 15_000);
    assert.equal(c.taskBackoffMs, 2000);
    assert.equal(c.media.maxRssMb, 2048);
    assert.equal(c.media.limits.maxPixels, 7680 * 4320);
    assert.equal(c.media.limits.maxSeconds, 3 * 3600);
    assert.throws(
      () => loadConfig({ DATA_DIR: dir, FFMPEG_PATH: '/usr/bin/ffmpeg' }),
      /FFMPEG_PATH is no longer used/,
    );
    assert.throws(
      () => loadConfig({ DATA_DIR: dir, FFPROBE_PATH: '/usr/bin/ffprobe' }),
      /FFPROBE_PATH is no longer used/,
    );
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.argon2));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
  });

  it('reads the queue timing and prefix, and refuses bad values with a sentence naming the variable', () => {
    const c = loadConfig({
      DATA_DIR: tmp(),
      QUEUE_PREFIX: 'wd-test-1',
      QUEUE_LOCK_MS: '2000',
      QUEUE_STALLED_MS: ' 1000 ',
      TASK_BACKOFF_MS: '0',
    });
    assert.deepEqual(
      [c.queuePrefix, c.queueLockMs, c.queueStalledMs, c.taskBackoffMs],
      ['wd-test-1', 2000, 1000, 0],
    );
    const refuses = (env: Record<string, string>, re: RegExp) =>
      assert.throws(
        () => loadConfig({ DATA_DIR: tmp(), ...env }),
        (e: Error) => e instanceof ConfigError && re.test(e.message),
      );
    refuses({ QUEUE_LOCK_MS: '100' }, /^QUEUE_LOCK_MS must be an integer at least 500\.$/);
    refuses({ QUEUE_STALLED_MS: '1.5' }, /^QUEUE_STALLED_MS must be an integer/);
    refuses({ TASK_BACKOFF_MS: 'soon' }, /^TASK_BACKOFF_MS must be an integer/);
    refuses({ QUEUE_PREFIX: 'a b' }, /^QUEUE_PREFIX has an invalid value/);
  });

  it('reads values', () => {
    const c = loadConfig({
      DATA_DIR: tmp(),
      PORT: '8080',
      REGISTRATION_ENABLED: 'false',
      MAX_UPLOAD_BYTES: '1048576',
      CHUNK_SECONDS: '2.5',
      CALLBACK_ALLOWLIST: 'Hooks.example.com, api.example.org',
      DATABASE_URL: 'postgres://u@h/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      JWT_SECRET: 'x'.repeat(40),
      DETECTOR_DEVICE: 'cuda:1',
    });
    assert.equal(c.port, 8080);
    assert.equal(c.registrationEnabled, false);
    assert.equal(c.maxUploadBytes, 1048576);
    assert.equal(c.chunkSeconds, 2.5);
    assert.deepEqual(c.callbackAllowlist, ['hooks.example.com', 'api.example.org']);
    assert.equal(c.databaseUrl, 'postgres://u@h/db');
    assert.equal(c.jwtSecretSource, 'env');
    assert.equal(c.detectorDevice, 'cuda:1');
  });

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ PORT: 'abc' }, 'PORT', /^PORT must be an integer at least 0 and at most 65535\.$/],
    [{ PORT: '70000' }, 'PORT', /^PORT must be/],
    [{ PORT: '1.5' }, 'PORT', /^PORT must be an integer/],
    [{ MAX_UPLOAD_BYTES: '-1' }, 'MAX_UPLOAD_BYTES', /^MAX_UPLOAD_BYTES must be an integer at least 1\.$/],
    [
      { MAX_VIDEO_SECONDS: '0' },
      'MAX_VIDEO_SECONDS',
      /^MAX_VIDEO_SECONDS must be a number greater than 0\.$/,
    ],
    [
      { REGISTRATION_ENABLED: 'maybe' },
      'REGISTRATION_ENABLED',
      /^REGISTRATION_ENABLED must be true or false\.$/,
    ],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL',
      /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent\.$/,
    ],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL', /^DATABASE_URL has an invalid value/],
    [{ DETECTOR_DEVICE: 'tpu' }, 'DETECTOR_DEVICE', /^DETECTOR_DEVICE has an invalid value/],
    [
      { CALLBACK_ALLOWLIST: 'good.com,bad host' },
      'CALLBACK_ALLOWLIST',
      /^CALLBACK_ALLOWLIST contains an invalid hostname/,
    ],
  ];
  for (const [env, name, re] of bad) {
    it(`rejects ${JSON.stringify(env)} with a sentence naming ${name}`, () => {
      assert.throws(
        () => loadConfig({ DATA_DIR: tmp(), ...env }),
        (e: unknown) =>
          e instanceof ConfigError &&
          re.test(e.message) &&
          e.message.includes(name) &&
          e.message.endsWith('.'),
      );
    });
  }

  it('refuses production without a strong JWT_SECRET', () => {
    assert.throws(
      () => loadConfig({ DATA_DIR: tmp(), NODE_ENV: 'production' }),
      /^ConfigError: JWT_SECRET must be set/,
    );
    assert.throws(
      () => loadConfig({ DATA_DIR: tmp(), NODE_ENV: 'production', JWT_SECRET: 'short' }),
      (e: unknown) => e instanceof ConfigError && /JWT_SECRET must be at least 32 characters/.test(e.message),
    );
    const c = loadConfig({ DATA_DIR: tmp(), NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) });
    assert.equal(c.isProduction, true);
  });

  it('generates a JWT secret once, keeps it (mode 0600) and reuses it', () => {
    const dir = tmp();
    const a = loadConfig({ DATA_DIR: dir });
    assert.equal(a.jwtSecretSource, 'generated');
    const file = join(dir, 'jwt-secret');
    assert.equal(readFileSync(file, 'utf8').trim(), a.jwtSecret);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const b = loadConfig({ DATA_DIR: dir });
    assert.equal(b.jwtSecretSource, 'file');
    assert.equal(b.jwtSecret, a.jwtSecret);
    assert.equal(b.callbackSecret, a.callbackSecret);
    assert.notEqual(a.callbackSecret, a.jwtSecret);
  });

  it('reads TRUST_PROXY as off, on, a hop count or a list of addresses and ranges', () => {
    const dir = tmp();
    assert.equal(loadConfig({ DATA_DIR: dir }).trustProxy, false);
    assert.equal(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ DATA_DIR: dir, TRUST_PROXY: 'true' }).trustProxy, true);
    assert.equal(loadConfig({ DATA_DIR: dir, TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ DATA_DIR: dir, TRUST_PROXY: '10.0.0.0/8, ::1,192.168.1.7' }).trustProxy, [
      '10.0.0.0/8',
      '::1',
      '192.168.1.7',
    ]);
    for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0.1/8/1', 'fe80::/129']) {
      assert.throws(
        () => loadConfig({ DATA_DIR: dir, TRUST_PROXY: bad }),
        (e: Error) => e instanceof ConfigError && /^TRUST_PROXY must be/.test(e.message),
        bad,
      );
    }
  });

  it('has the documented defaults for the many-users limits', () => {
    const c = loadConfig({ DATA_DIR: tmp() });
    assert.equal(c.userStorageBytes, null);
    assert.equal(c.retentionDays, null);
    assert.equal(c.userMaxEventStreams, 20);
    assert.equal(c.requestTimeoutSeconds, 6 * 3600);
    assert.equal(c.idleTimeoutSeconds, 120);
    assert.equal(c.minUploadBytesPerSecond, 4096);
    assert.deepEqual(c.detect, { concurrency: 2, queue: 16, timeoutSeconds: 30, rateLimitPerMinute: 60 });
    assert.equal(c.loginRateLimitPerAddressPerHour, 100);
    assert.equal(c.registerRateLimitPerAddressPerHour, 10);
    // 4 GiB at the minimum rate would not fit in the request timeout, but at 200 kB/s it does
    assert.ok((4 * 1024 ** 3) / 200_000 < c.requestTimeoutSeconds);
  });
});
