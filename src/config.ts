import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';
import type { MediaSettings } from './media/settings.js';

export { ConfigError };

/**
 * The service's configuration: read from the environment once, validated against a TypeBox schema,
 * typed and frozen. A bad value throws ConfigError with one sentence naming the variable.
 */

const GiB = 1024 ** 3;

// Each variable: its schema (after conversion from the env string) and default.
const specs = {
  PORT: { schema: Type.Integer({ minimum: 0, maximum: 65535 }), default: 3000 },
  HOST: { schema: Type.String({ minLength: 1 }), default: '0.0.0.0' },
  // `worker` serves /metrics, /healthz and /readyz on this port when set (the API has its own /metrics)
  METRICS_PORT: { schema: Type.Integer({ minimum: 0, maximum: 65535 }), default: undefined },
  DATA_DIR: { schema: Type.String({ minLength: 1 }), default: './data' },
  DATABASE_URL: { schema: Type.String({ pattern: '^postgres(ql)?://' }), default: undefined },
  REDIS_URL: { schema: Type.String({ pattern: '^rediss?://' }), default: undefined },
  JWT_SECRET: { schema: Type.String({ minLength: 1 }), default: undefined },
  NODE_ENV: { schema: Type.String({ minLength: 1 }), default: 'development' },
  LOG_LEVEL: {
    schema: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    ),
    default: 'info',
  },
  MAX_UPLOAD_BYTES: { schema: Type.Integer({ minimum: 1 }), default: 4 * GiB },
  MAX_VIDEO_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 3 * 3600 },
  REGISTRATION_ENABLED: { schema: Type.Boolean(), default: true },
  ACCESS_TOKEN_TTL_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 900 },
  REFRESH_TOKEN_TTL_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 30 * 24 * 3600 },
  LOGIN_RATE_LIMIT_PER_MINUTE: { schema: Type.Integer({ minimum: 1 }), default: 10 },
  MODELS_DIR: { schema: Type.String({ minLength: 1 }), default: undefined },
  DETECTOR_DEVICE: { schema: Type.String({ pattern: '^(cpu|cuda(:[0-9]+(,[0-9]+)*)?)$' }), default: 'cpu' },
  DETECTOR_THREADS: { schema: Type.Integer({ minimum: 1, maximum: 1024 }), default: undefined },
  DETECTOR_BATCH_SIZE: { schema: Type.Integer({ minimum: 1, maximum: 256 }), default: 4 },
  WORKER_CONCURRENCY: { schema: Type.Integer({ minimum: 1, maximum: 256 }), default: 1 },
  CHUNK_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 10 },
  TASK_ATTEMPTS: { schema: Type.Integer({ minimum: 1, maximum: 100 }), default: 3 },
  // BullMQ's key prefix in Redis: separates deployments (or test runs) sharing one Redis
  QUEUE_PREFIX: { schema: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), default: 'wd' },
  // Queue timing: operational knobs that tests shorten (a killed worker's chunk comes back in
  // seconds, a failing task gives up quickly).
  // A worker's lock on a running task: a dead worker's task is taken up after about this.
  QUEUE_LOCK_MS: { schema: Type.Integer({ minimum: 500 }), default: 30_000 },
  // How often workers look for stalled tasks.
  QUEUE_STALLED_MS: { schema: Type.Integer({ minimum: 100 }), default: 15_000 },
  // First retry delay of a failed task; it doubles each attempt.
  TASK_BACKOFF_MS: { schema: Type.Integer({ minimum: 0 }), default: 2000 },
  // Media: the FFmpeg 8.1 libraries that npm installs (node-av), in child processes with these
  // bounds; the limits are checked on the real stream (see src/media/limits.ts).
  MAX_VIDEO_PIXELS: { schema: Type.Integer({ minimum: 1 }), default: 7680 * 4320 },
  MAX_VIDEO_FPS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 240 },
  MAX_VIDEO_FRAMES: { schema: Type.Integer({ minimum: 1 }), default: 648_000 },
  MAX_VIDEO_STREAMS: { schema: Type.Integer({ minimum: 1, maximum: 10_000 }), default: 32 },
  MEDIA_MAX_RSS_MB: { schema: Type.Integer({ minimum: 64 }), default: 2048 },
  MEDIA_PROBE_TIMEOUT_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 30 },
  MEDIA_UPLOAD_SCAN_SECONDS: { schema: Type.Number({ minimum: 0 }), default: 20 },
  MEDIA_SCAN_TIMEOUT_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 600 },
  MEDIA_DECODE_TIMEOUT_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 600 },
  CALLBACK_ALLOWLIST: { schema: Type.String(), default: undefined },
  CALLBACK_SECRET: { schema: Type.String({ minLength: 1 }), default: undefined },
  // seconds between callback attempts, comma-separated, each spread by ±20 % (default: the
  // schedule in src/pipeline/next.ts, 10,60,300,1800,7200,21600)
  CALLBACK_RETRY_DELAYS: {
    schema: Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?(\\s*,\\s*\\d+(\\.\\d+)?)*\\s*$' }),
    default: undefined,
  },
  // jobs one user may have processing at once; more wait as queued (0: no limit)
  USER_MAX_ACTIVE_JOBS: { schema: Type.Integer({ minimum: 0, maximum: 10000 }), default: 0 },
  // a processing job with no progress for this long is failed by the watchdog
  JOB_STALL_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 3600 },
  WATCHDOG_INTERVAL_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 30 },
  // fair-queued tasks waiting inside BullMQ at once, per task name (see src/queue/fair-redis.ts)
  QUEUE_FAIR_WINDOW: { schema: Type.Integer({ minimum: 1, maximum: 1000 }), default: 1 },
  MEDIA_URL_TTL_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 3600 },
  // argon2id cost; the defaults follow OWASP's recommendation (19 MiB, 2 passes). Tests lower them.
  ARGON2_MEMORY_KIB: { schema: Type.Integer({ minimum: 1024 }), default: 19456 },
  ARGON2_TIME_COST: { schema: Type.Integer({ minimum: 1, maximum: 20 }), default: 2 },

  // ---- many users on one server (issue 10) ----
  // Which proxies to believe about the client's address (X-Forwarded-For): unset or false = none
  // (the socket's address is the client); true = any; a hop count; or a comma-separated list of
  // proxy addresses and CIDR ranges. Rate limits key on the address this gives.
  TRUST_PROXY: { schema: Type.String({ minLength: 1 }), default: undefined },
  // Logins from one client address, over every username (password spraying), per hour.
  LOGIN_RATE_LIMIT_PER_ADDRESS_PER_HOUR: { schema: Type.Integer({ minimum: 1 }), default: 100 },
  // Accounts one client address may register per hour.
  REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: { schema: Type.Integer({ minimum: 1 }), default: 10 },
  // Event streams (GET /v1/jobs/:id/events) one user may hold open at once, per API process.
  USER_MAX_EVENT_STREAMS: { schema: Type.Integer({ minimum: 1, maximum: 10_000 }), default: 20 },
  // Bytes of stored videos one user may have; unset = no limit.
  USER_STORAGE_BYTES: { schema: Type.Integer({ minimum: 1 }), default: undefined },
  // Finished jobs (their rows, detections and video) are deleted this many days after they
  // finished; unset = kept until their owner deletes them.
  RETENTION_DAYS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: undefined },
  // How often the housekeeping sweep runs (expired refresh tokens, idempotency keys, retention).
  HOUSEKEEPING_INTERVAL_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 3600 },
  // The whole request (headers and body) must arrive within this: 6 h lets a 4 GiB upload
  // through a link of about 200 kB/s. The minimum rate below is what stops a trickle early.
  REQUEST_TIMEOUT_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 6 * 3600 },
  // A connection on which nothing is sent or received for this long is closed (event streams
  // send a keep-alive every 15 s, so they stay open).
  IDLE_TIMEOUT_SECONDS: { schema: Type.Integer({ minimum: 1 }), default: 120 },
  // A request body arriving slower than this (measured over UPLOAD_RATE_WINDOW_SECONDS) is cut off.
  MIN_UPLOAD_BYTES_PER_SECOND: { schema: Type.Integer({ minimum: 0 }), default: 4096 },
  UPLOAD_RATE_WINDOW_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 60 },
  // POST /v1/detect: images analysed at once per process, requests that may wait for a turn,
  // the longest a request may take (waiting included), and requests per user per minute.
  DETECT_CONCURRENCY: { schema: Type.Integer({ minimum: 1, maximum: 256 }), default: 2 },
  DETECT_QUEUE: { schema: Type.Integer({ minimum: 0, maximum: 10_000 }), default: 16 },
  DETECT_TIMEOUT_SECONDS: { schema: Type.Number({ exclusiveMinimum: 0 }), default: 30 },
  DETECT_RATE_LIMIT_PER_MINUTE: { schema: Type.Integer({ minimum: 1 }), default: 60 },
} as const;

export interface Config {
  port: number;
  host: string;
  /** where a `worker` serves its metrics; null = no metrics server */
  metricsPort: number | null;
  nodeEnv: string;
  isProduction: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** absolute */
  dataDir: string;
  /** DATA_DIR/db (PGlite files) */
  dbDir: string;
  /** DATA_DIR/storage (videos) */
  storageDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  jwtSecret: string;
  /** 'env' or the file it was read from / written to */
  jwtSecretSource: 'env' | 'file' | 'generated';
  maxUploadBytes: number;
  maxVideoSeconds: number;
  registrationEnabled: boolean;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  loginRateLimitPerMinute: number;
  modelsDir: string | null;
  detectorDevice: string;
  detectorThreads: number;
  detectorBatchSize: number;
  workerConcurrency: number;
  chunkSeconds: number;
  taskAttempts: number;
  queuePrefix: string;
  queueLockMs: number;
  queueStalledMs: number;
  taskBackoffMs: number;
  /** the media layer's bounds and limits (MAX_VIDEO_*, MEDIA_*) */
  media: MediaSettings;
  /** hostnames callbacks may go to; null = any public host */
  callbackAllowlist: readonly string[] | null;
  callbackSecret: string;
  /** delays between callback attempts (ms; attempts = length + 1); null: the built-in schedule */
  callbackRetryDelaysMs: readonly number[] | null;
  /** 0 = no limit */
  userMaxActiveJobs: number;
  jobStallSeconds: number;
  watchdogIntervalSeconds: number;
  queueFairWindow: number;
  mediaUrlTtlSeconds: number;
  argon2: { memoryCost: number; timeCost: number };
  /** Fastify's trustProxy: false (default), true, a hop count, or proxy addresses/CIDRs */
  trustProxy: boolean | number | readonly string[];
  loginRateLimitPerAddressPerHour: number;
  registerRateLimitPerAddressPerHour: number;
  userMaxEventStreams: number;
  /** null = no quota */
  userStorageBytes: number | null;
  /** null = keep finished jobs */
  retentionDays: number | null;
  housekeepingIntervalSeconds: number;
  requestTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  /** 0 = no minimum */
  minUploadBytesPerSecond: number;
  uploadRateWindowSeconds: number;
  detect: { concurrency: number; queue: number; timeoutSeconds: number; rateLimitPerMinute: number };
}

type Spec = { schema: TSchema; default: unknown };

function describeSchemaValue(name: string, schema: TSchema): string {
  if (schema.anyOf)
    return `${name} must be one of ${(schema.anyOf as TSchema[]).map((s) => s.const).join(', ')}.`;
  const s = schema as TSchema & Record<string, unknown>;
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`at least ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`greater than ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`at most ${s.maximum}`);
  const bounds = parts.length ? ` ${parts.join(' and ')}` : '';
  switch (s.type) {
    case 'integer':
      return `${name} must be an integer${bounds}.`;
    case 'number':
      return `${name} must be a number${bounds}.`;
    case 'boolean':
      return `${name} must be true or false.`;
    default:
      if (s.pattern) return `${name} has an invalid value (expected to match ${s.pattern}).`;
      return `${name} must not be empty.`;
  }
}

function convert(name: string, raw: string, schema: TSchema): unknown {
  const type = (schema as { type?: string }).type;
  const v = raw.trim();
  if (type === 'integer' || type === 'number') {
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v))
      throw new ConfigError(describeSchemaValue(name, schema));
    return Number(v);
  }
  if (type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    throw new ConfigError(describeSchemaValue(name, schema));
  }
  return name === 'CALLBACK_ALLOWLIST' ? raw : v;
}

type Raw = { -readonly [K in keyof typeof specs]: Static<(typeof specs)[K]['schema']> | undefined };

/** Variables that were removed: set, they stop start-up rather than being silently ignored. */
const REMOVED: Record<string, string> = {
  FFMPEG_PATH:
    'FFMPEG_PATH is no longer used: the service decodes with the FFmpeg 8.1 libraries that npm installs (node-av); unset it.',
  FFPROBE_PATH:
    'FFPROBE_PATH is no longer used: the service probes with the FFmpeg 8.1 libraries that npm installs (node-av); unset it.',
};

function readEnv(env: NodeJS.ProcessEnv): Raw {
  for (const [name, sentence] of Object.entries(REMOVED)) {
    if (env[name] !== undefined && env[name] !== '') throw new ConfigError(sentence);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs) as [string, Spec][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = spec.default;
      continue;
    }
    const value = convert(name, raw, spec.schema);
    if (!Value.Check(spec.schema, value)) throw new ConfigError(describeSchemaValue(name, spec.schema));
    out[name] = value;
  }
  return out as Raw;
}

const SECRET_FILE = 'jwt-secret';

function resolveJwtSecret(
  raw: Raw,
  dataDir: string,
  production: boolean,
): { secret: string; source: Config['jwtSecretSource'] } {
  if (raw.JWT_SECRET !== undefined) {
    if (production && raw.JWT_SECRET.length < 32) {
      throw new ConfigError('JWT_SECRET must be at least 32 characters long when NODE_ENV is production.');
    }
    return { secret: raw.JWT_SECRET, source: 'env' };
  }
  if (production)
    throw new ConfigError('JWT_SECRET must be set (at least 32 characters) when NODE_ENV is production.');
  const file = join(dataDir, SECRET_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return { secret: existing, source: 'file' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`JWT_SECRET is unset and ${file} cannot be read (${(e as Error).message}).`);
    }
  }
  const secret = randomBytes(48).toString('base64url');
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  } catch (e) {
    throw new ConfigError(
      `JWT_SECRET is unset and DATA_DIR is not writable to keep a generated one (${(e as Error).message}).`,
    );
  }
  return { secret, source: 'generated' };
}

/**
 * TRUST_PROXY as Fastify's trustProxy: false/true, a hop count, or a list of proxy addresses and
 * CIDR ranges (each checked, so a typo stops start-up instead of trusting the wrong hop).
 */
export function parseTrustProxy(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined) return false;
  const v = raw.trim();
  if (/^(false|0|no|off)$/i.test(v)) return false;
  if (/^(true|yes|on)$/i.test(v)) return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.find((entry) => {
    const [addr, bits, extra] = entry.split('/');
    if (extra !== undefined || isIP(addr) === 0) return true;
    if (bits === undefined) return false;
    const max = isIP(addr) === 4 ? 32 : 128;
    return !/^\d+$/.test(bits) || Number(bits) > max;
  });
  if (list.length === 0 || bad !== undefined) {
    throw new ConfigError(
      `TRUST_PROXY must be true, false, a hop count or a comma-separated list of addresses and CIDR ranges${bad === undefined ? '' : ` (${JSON.stringify(bad)} is neither)`}.`,
    );
  }
  return list;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readEnv(env);
  const nodeEnv = raw.NODE_ENV ?? 'development';
  const production = nodeEnv === 'production';
  const dataDir = resolve(raw.DATA_DIR ?? './data');
  const { secret, source } = resolveJwtSecret(raw, dataDir, production);
  let allowlist: string[] | null = null;
  if (raw.CALLBACK_ALLOWLIST !== undefined) {
    allowlist = raw.CALLBACK_ALLOWLIST.split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    const bad = allowlist.find((h) => !/^[a-z0-9.-]+$/.test(h) && !/^\[?[0-9a-f:.]+\]?$/.test(h));
    if (bad !== undefined)
      throw new ConfigError(`CALLBACK_ALLOWLIST contains an invalid hostname (${JSON.stringify(bad)}).`);
  }
  const config: Config = {
    port: raw.PORT ?? 3000,
    host: raw.HOST ?? '0.0.0.0',
    metricsPort: raw.METRICS_PORT ?? null,
    nodeEnv,
    isProduction: production,
    logLevel: (raw.LOG_LEVEL ?? 'info') as Config['logLevel'],
    dataDir,
    dbDir: join(dataDir, 'db'),
    storageDir: join(dataDir, 'storage'),
    databaseUrl: raw.DATABASE_URL ?? null,
    redisUrl: raw.REDIS_URL ?? null,
    jwtSecret: secret,
    jwtSecretSource: source,
    maxUploadBytes: raw.MAX_UPLOAD_BYTES ?? 4 * GiB,
    maxVideoSeconds: raw.MAX_VIDEO_SECONDS ?? 3 * 3600,
    registrationEnabled: raw.REGISTRATION_ENABLED ?? true,
    accessTokenTtlSeconds: raw.ACCESS_TOKEN_TTL_SECONDS ?? 900,
    refreshTokenTtlSeconds: raw.REFRESH_TOKEN_TTL_SECONDS ?? 30 * 24 * 3600,
    loginRateLimitPerMinute: raw.LOGIN_RATE_LIMIT_PER_MINUTE ?? 10,
    modelsDir: raw.MODELS_DIR ? resolve(raw.MODELS_DIR) : null,
    detectorDevice: raw.DETECTOR_DEVICE ?? 'cpu',
    detectorThreads: raw.DETECTOR_THREADS ?? availableParallelism(),
    detectorBatchSize: raw.DETECTOR_BATCH_SIZE ?? 4,
    workerConcurrency: raw.WORKER_CONCURRENCY ?? 1,
    chunkSeconds: raw.CHUNK_SECONDS ?? 10,
    taskAttempts: raw.TASK_ATTEMPTS ?? 3,
    queuePrefix: raw.QUEUE_PREFIX ?? 'wd',
    queueLockMs: raw.QUEUE_LOCK_MS ?? 30_000,
    queueStalledMs: raw.QUEUE_STALLED_MS ?? 15_000,
    taskBackoffMs: raw.TASK_BACKOFF_MS ?? 2000,
    media: {
      maxRssMb: raw.MEDIA_MAX_RSS_MB ?? 2048,
      probeTimeoutMs: (raw.MEDIA_PROBE_TIMEOUT_SECONDS ?? 30) * 1000,
      uploadScanTimeoutMs: (raw.MEDIA_UPLOAD_SCAN_SECONDS ?? 20) * 1000,
      scanTimeoutMs: (raw.MEDIA_SCAN_TIMEOUT_SECONDS ?? 600) * 1000,
      decodeTimeoutMs: (raw.MEDIA_DECODE_TIMEOUT_SECONDS ?? 600) * 1000,
      imageTimeoutMs: Math.min(30, raw.DETECT_TIMEOUT_SECONDS ?? 30) * 1000,
      limits: {
        maxPixels: raw.MAX_VIDEO_PIXELS ?? 7680 * 4320,
        maxFps: raw.MAX_VIDEO_FPS ?? 240,
        maxFrames: raw.MAX_VIDEO_FRAMES ?? 648_000,
        maxSeconds: raw.MAX_VIDEO_SECONDS ?? 3 * 3600,
        maxStreams: raw.MAX_VIDEO_STREAMS ?? 32,
      },
    },
    callbackAllowlist: allowlist,
    callbackSecret:
      raw.CALLBACK_SECRET ??
      createHmac('sha256', secret).update('web-detector callback secret').digest('base64url'),
    callbackRetryDelaysMs:
      raw.CALLBACK_RETRY_DELAYS === undefined
        ? null
        : raw.CALLBACK_RETRY_DELAYS.split(',').map((x) => Math.round(Number(x.trim()) * 1000)),
    userMaxActiveJobs: raw.USER_MAX_ACTIVE_JOBS ?? 0,
    jobStallSeconds: raw.JOB_STALL_SECONDS ?? 3600,
    watchdogIntervalSeconds: raw.WATCHDOG_INTERVAL_SECONDS ?? 30,
    queueFairWindow: raw.QUEUE_FAIR_WINDOW ?? 1,
    mediaUrlTtlSeconds: raw.MEDIA_URL_TTL_SECONDS ?? 3600,
    argon2: { memoryCost: raw.ARGON2_MEMORY_KIB ?? 19456, timeCost: raw.ARGON2_TIME_COST ?? 2 },
    trustProxy: parseTrustProxy(raw.TRUST_PROXY),
    loginRateLimitPerAddressPerHour: raw.LOGIN_RATE_LIMIT_PER_ADDRESS_PER_HOUR ?? 100,
    registerRateLimitPerAddressPerHour: raw.REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR ?? 10,
    userMaxEventStreams: raw.USER_MAX_EVENT_STREAMS ?? 20,
    userStorageBytes: raw.USER_STORAGE_BYTES ?? null,
    retentionDays: raw.RETENTION_DAYS ?? null,
    housekeepingIntervalSeconds: raw.HOUSEKEEPING_INTERVAL_SECONDS ?? 3600,
    requestTimeoutSeconds: raw.REQUEST_TIMEOUT_SECONDS ?? 6 * 3600,
    idleTimeoutSeconds: raw.IDLE_TIMEOUT_SECONDS ?? 120,
    minUploadBytesPerSecond: raw.MIN_UPLOAD_BYTES_PER_SECOND ?? 4096,
    uploadRateWindowSeconds: raw.UPLOAD_RATE_WINDOW_SECONDS ?? 60,
    detect: {
      concurrency: raw.DETECT_CONCURRENCY ?? 2,
      queue: raw.DETECT_QUEUE ?? 16,
      timeoutSeconds: raw.DETECT_TIMEOUT_SECONDS ?? 30,
      rateLimitPerMinute: raw.DETECT_RATE_LIMIT_PER_MINUTE ?? 60,
    },
  };
  return deepFreeze(config);
}

/** The variables loadConfig reads, for `--help`. */
export const CONFIG_VARIABLES = Object.keys(specs);
