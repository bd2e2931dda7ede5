import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createDatabase, type DatabaseHandle, migrateToLatest } from './db/index.js';
import { createRepositories, type Repositories } from './db/repositories/index.js';
import { ConfigError } from './errors.js';
import { CUDA_INSTALL_HINT, cudaProviderInstalled } from './inference/cuda.js';
import { parseDevice } from './inference/device.js';
import { librariesProblem } from './inference/gpu/libraries.js';
import { providerProblem } from './inference/gpu/provider.js';
import { createModelRegistry, type ModelRegistry } from './inference/registry.js';
import { createLogger, type Logger } from './logger.js';
import { pinnedName } from './media/av/protocol.js';
import { cropRegion, frameJpeg } from './media/frame-jpeg.js';
import { inspectUpload } from './media/inspect.js';
import { renderVideo } from './media/render.js';
import type { MediaSettings } from './media/settings.js';
import { createPipelineMetrics, createQueueMetrics, type PipelineMetrics } from './observability/metrics.js';
import { deliverCallback } from './pipeline/callbacks.js';
import { createJobFailer } from './pipeline/failures.js';
import { createTaskHandlers } from './pipeline/handlers.js';
import { createJobScheduler } from './pipeline/next.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { createWatchdog } from './pipeline/watchdog.js';
import { createBullmqQueue } from './queue/bullmq.js';
import { createMemoryQueue } from './queue/memory.js';
import type { TaskName, TaskQueue } from './queue/port.js';
import { type ApiKeysService, createApiKeysService } from './services/api-keys.js';
import { type AuthService, createAuthService } from './services/auth.js';
import { createArgon2Hasher } from './services/auth-hasher.js';
import { type ConcurrencyLimiter, createConcurrencyLimiter } from './services/concurrency.js';
import { createDeliveriesService, type DeliveriesService } from './services/deliveries.js';
import { createDetectionsService, type DetectionsService } from './services/detections.js';
import { createExportsService, type ExportsService } from './services/exports.js';
import { createHousekeeping, type Housekeeping } from './services/housekeeping.js';
import { createIdempotency } from './services/idempotency.js';
import { createImageDetectionService, type ImageDetectionService } from './services/image-detection.js';
import { createJobWatcher, type JobWatcher } from './services/job-watcher.js';
import { createJobsService, type JobsService } from './services/jobs.js';
import { createMediaLinks, type MediaLinks } from './services/media-links.js';
import { createRendersService, type RendersService } from './services/renders.js';
import { createJpegCache, createThumbnailsService, type ThumbnailsService } from './services/thumbnails.js';
import { createTracksService, type TracksService } from './services/tracks.js';
import { type BlobStore, createLocalStorage } from './storage/local.js';

/**
 * The composition root: the one place where parts are built and wired, in dependency order
 * (database → repositories → media and models → queue → pipeline → services → HTTP app), each
 * part handed exactly the parts it uses. Every role comes through here: `serve` (the API, and in
 * standalone mode the workers too), `worker` (tasks only), the local `detect` command, and the
 * tests, which run the same app with test options (their own database, a recording queue).
 */

/** The converted default model is cached inside the installation, not in DATA_DIR. */
export const MODEL_CACHE_DIR = fileURLToPath(new URL('../models/cache', import.meta.url));

export interface RuntimeOptions {
  /** default: a pino logger from the configuration */
  log?: Logger;
  /** run task handlers in this process */
  workers: boolean;
  /** which tasks this process consumes (default: all) */
  queues?: TaskName[];
  /** handlers at once (default: WORKER_CONCURRENCY) */
  concurrency?: number;
  /** benchmark knobs: ffmpeg decoder threads per chunk, frames decoded ahead, ms between writes */
  decodeThreads?: number;
  decodeReadAhead?: number;
  writeEveryMs?: number;
  /** how often event streams re-read their jobs (ms; default 1000) */
  eventsPollMs?: number;
  /** run the periodic housekeeping sweep in this process (default true) */
  housekeeping?: boolean;
  /** test seam: an open database to use instead of opening the configured one (not closed by close()) */
  database?: DatabaseHandle;
  /** test seam: a queue to use instead of the configured one */
  queue?: TaskQueue;
}

export interface Runtime {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  repos: Repositories;
  storage: BlobStore;
  media: MediaSettings;
  models: ModelRegistry;
  queue: TaskQueue;
  pipeline: Pipeline;
  services: {
    auth: AuthService;
    apiKeys: ApiKeysService;
    jobs: JobsService;
    detections: DetectionsService;
    tracks: TracksService;
    exports: ExportsService;
    deliveries: DeliveriesService;
    imageDetection: ImageDetectionService;
    mediaLinks: MediaLinks;
    thumbnails: ThumbnailsService;
    renders: RendersService;
    /** POST /v1/detect's turns */
    detectLimiter: ConcurrencyLimiter;
    /** what event streams read their jobs through */
    jobWatcher: JobWatcher;
    housekeeping: Housekeeping;
  };
  /** frames, inference and decode time, busy ratio of this process (a worker's metrics server serves it) */
  metrics: PipelineMetrics;
  /** resolves when the database and the queue answer (within 2 s each) */
  ready(): Promise<void>;
  /** the HTTP app with every route (not listening: `serve` listens, a `worker` does not) */
  app: FastifyInstance;
  /** Stops the app, the workers (waiting for running tasks), the models and the database. */
  close(): Promise<void>;
}

/** A key for one purpose derived from the JWT secret, so one leaked key does not give the other. */
export function deriveKey(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(`web-detector:${purpose}`).digest('base64url');
}

/**
 * Asking for CUDA where ONNX Runtime has no CUDA provider stops start-up with a sentence (rather
 * than failing the first job an hour later).
 */
export async function checkDetectorDevice(
  spec: string,
  providerInstalled = cudaProviderInstalled,
  versionProblem: () => Promise<string | null> = providerProblem,
  libraryProblem: () => Promise<string | null> = librariesProblem,
): Promise<void> {
  const wantsCuda = parseDevice(spec).some((d) => d.kind === 'cuda');
  if (!wantsCuda) return;
  if (!providerInstalled()) throw new ConfigError(`DETECTOR_DEVICE is ${spec}, but ${CUDA_INSTALL_HINT}`);
  // the provider talks to libonnxruntime through an unversioned interface: a mismatch crashes late
  const problem = (await versionProblem()) ?? (await libraryProblem());
  if (problem)
    throw new ConfigError(`DETECTOR_DEVICE is ${spec}, but ${problem[0].toLowerCase()}${problem.slice(1)}`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** What detecting needs without a database: media programs, models, and the single-image service. */
export interface DetectionEngine {
  media: MediaSettings;
  models: ModelRegistry;
  imageDetection: ImageDetectionService;
}

/** Media programs and models from the configuration (the `detect <image>` command needs no more). */
export async function createDetectionEngine(config: Config): Promise<DetectionEngine> {
  await checkDetectorDevice(config.detectorDevice);
  const media = config.media;
  const models = await createModelRegistry({
    modelsDir: config.modelsDir ?? undefined,
    cacheDir: MODEL_CACHE_DIR,
    device: config.detectorDevice,
    intraOpThreads: config.detectorThreads,
    maxBatch: config.detectorBatchSize,
  });
  return { media, models, imageDetection: createImageDetectionService({ models, media }) };
}

/** The configured task queue: BullMQ on Redis when REDIS_URL is set, else the in-process one. */
export function createTaskQueue(config: Config): TaskQueue {
  if (!config.redisUrl) return createMemoryQueue();
  return createBullmqQueue({
    url: config.redisUrl,
    prefix: config.queuePrefix,
    lockDuration: config.queueLockMs,
    stalledInterval: config.queueStalledMs,
    fairWindow: config.queueFairWindow,
  });
}

export async function createRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.log ?? createLogger(config);

  // database, migrated
  const database = opts.database ?? (await createDatabase(config));
  const ownsDatabase = !opts.database;
  try {
    await migrateToLatest(database.db);
  } catch (e) {
    if (ownsDatabase) await database.close().catch(() => {});
    throw e;
  }
  const repos = createRepositories(database.db);
  const storage = createLocalStorage(config.storageDir);

  // media and models
  const { media, models, imageDetection } = await createDetectionEngine(config);

  // queue and pipeline
  const queue = opts.queue ?? createTaskQueue(config);
  const scheduler = createJobScheduler({
    queue,
    retry: { attempts: config.taskAttempts, backoffMs: config.taskBackoffMs },
    callbackRetryDelaysMs: config.callbackRetryDelaysMs ?? undefined,
  });
  const failJob = createJobFailer({ jobs: repos.jobs, chunks: repos.chunks, scheduler });
  const pipeline = createPipeline({
    jobs: repos.jobs,
    chunks: repos.chunks,
    queue,
    scheduler,
    failJob,
    renders: repos.renders,
    maxRuns: config.taskAttempts,
    log,
  });
  let watchdog: { stop(): Promise<void> } | undefined;
  const metrics = createPipelineMetrics();
  if (opts.workers) {
    const handlers = createTaskHandlers({
      jobs: repos.jobs,
      chunks: repos.chunks,
      frames: repos.frames,
      tracks: repos.tracks,
      trackerStates: repos.trackerStates,
      transaction: repos.transaction,
      media,
      storage,
      detectors: metrics.instrumentDetectors(models),
      metrics,
      scheduler,
      deliveries: repos.deliveries,
      deliver: deliverCallback,
      callbacks: { secret: config.callbackSecret, allowlist: config.callbackAllowlist },
      settings: {
        chunkSeconds: config.chunkSeconds,
        batchSize: config.detectorBatchSize,
        decodeThreads: opts.decodeThreads,
        decodeReadAhead: opts.decodeReadAhead,
        writeEveryMs: opts.writeEveryMs,
      },
      jobSlots: { limit: config.userMaxActiveJobs },
      renders: repos.renders,
      renderVideo,
      renderSettings: {
        timeoutMs: config.renderTimeoutSeconds * 1000,
        maxRssMb: media.maxRssMb,
        maxPixels: media.limits.maxPixels,
      },
    });
    const concurrency = opts.concurrency ?? config.workerConcurrency;
    await queue.work(metrics.instrumentHandlers(handlers, { concurrency, names: opts.queues }), {
      concurrency,
      names: opts.queues,
    });
    // processes that plan jobs also watch them (one at a time: the watchdog takes a queue lease)
    if (!opts.queues || opts.queues.includes('process')) {
      watchdog = createWatchdog({
        jobs: repos.jobs,
        chunks: repos.chunks,
        queue,
        scheduler,
        failJob,
        log,
        settings: {
          maxRuns: config.taskAttempts,
          stallMs: config.jobStallSeconds * 1000,
          // long enough for a dead worker's task to be seen stalled and taken up again first
          idleMs: Math.max(60_000, 2 * (config.queueLockMs + config.queueStalledMs)),
        },
      }).start(config.watchdogIntervalSeconds * 1000);
    }
  }

  // services
  const auth = createAuthService({
    users: repos.users,
    tokens: repos.refreshTokens,
    config,
    hasher: createArgon2Hasher(config.argon2),
  });
  const apiKeys = createApiKeysService({ apiKeys: repos.apiKeys });
  const jobs = createJobsService({
    jobs: repos.jobs,
    storage,
    probe: (file) => inspectUpload(media, file),
    config,
    modelLabels: (name) => models.list().find((m) => m.name === name)?.labels ?? null,
    pipeline,
    idempotency: createIdempotency({ keys: repos.idempotencyKeys }),
    log,
  });
  const detections = createDetectionsService({ frames: repos.frames, tracks: repos.tracks });
  const deliveries = createDeliveriesService({
    getOwned: (userId, jobId) => jobs.getOwned(userId, jobId),
    deliveries: repos.deliveries,
    scheduler,
  });
  const detectLimiter = createConcurrencyLimiter({
    max: config.detect.concurrency,
    maxWaiting: config.detect.queue,
    timeoutMs: config.detect.timeoutSeconds * 1000,
    what: 'Image detection',
  });
  const eventsPollMs = opts.eventsPollMs ?? 1000;
  const jobWatcher = createJobWatcher({ jobs: repos.jobs, pollMs: eventsPollMs, log });
  const housekeeping = createHousekeeping({
    refreshTokens: repos.refreshTokens,
    idempotencyKeys: repos.idempotencyKeys,
    jobs: repos.jobs,
    storage,
    retentionDays: config.retentionDays,
    intervalMs: config.housekeepingIntervalSeconds * 1000,
    log,
  });
  if (opts.housekeeping ?? true) housekeeping.start();
  // rate-limit counters shared by every API process (else each process counts on its own)
  const rateLimitRedis = config.redisUrl
    ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true })
    : undefined;
  rateLimitRedis?.on('error', (err) => log.warn({ err }, 'rate-limit store (Redis) error'));
  const mediaLinks = createMediaLinks({
    secret: deriveKey(config.jwtSecret, 'media-links'),
    ttlSeconds: config.mediaUrlTtlSeconds,
  });
  // one bound on ffmpeg processes and one cache for job and track thumbnails alike
  const jpegs = createJpegCache();
  const thumbnails = createThumbnailsService({
    jobs,
    pathOf: (key) => storage.path(key),
    links: mediaLinks,
    render: (file, t, width, video) =>
      frameJpeg(media, file, {
        format: video?.pinnedFormat ?? pinnedName(video?.formatName ?? ''),
        timeSec: t,
        width,
        rotation: video?.rotation ?? 0,
      }),
    jpegs,
  });
  const tracks = createTracksService({
    jobs,
    tracks: repos.tracks,
    pathOf: (key) => storage.path(key),
    links: mediaLinks,
    render: (file, t, width, crop, video) =>
      frameJpeg(media, file, {
        format: video.pinnedFormat ?? pinnedName(video.formatName ?? ''),
        timeSec: t,
        width,
        crop: cropRegion(crop),
        rotation: video.rotation ?? 0,
      }),
    jpegs,
  });
  const exports = createExportsService({
    jobs,
    detections,
    tracks: repos.tracks,
    chunks: repos.chunks,
    modelLabels: (name) => models.list().find((m) => m.name === name)?.labels ?? null,
  });

  const renders = createRendersService({
    getOwned: (userId, jobId) => jobs.getOwned(userId, jobId),
    renders: repos.renders,
    scheduler,
    links: mediaLinks,
    modelLabels: (name) => models.list().find((m) => m.name === name)?.labels ?? null,
  });

  // the HTTP app
  const app = await buildApp({
    config,
    logger: log,
    auth,
    apiKeys,
    jobs,
    detections,
    tracks,
    exports,
    deliveries,
    imageDetection,
    detectLimiter,
    mediaLinks,
    thumbnails,
    renders,
    models,
    storage,
    jobsRepository: repos.jobs,
    readiness: { database: () => database.ping(), queue: () => queue.ping() },
    metricsRegistries: [metrics.registry, createQueueMetrics(queue)],
    events: { watcher: jobWatcher, pollMs: eventsPollMs },
    rateLimitRedis,
  });

  let closing: Promise<void> | undefined;
  return {
    config,
    log,
    database,
    repos,
    storage,
    media,
    models,
    queue,
    pipeline,
    services: {
      auth,
      apiKeys,
      jobs,
      detections,
      tracks,
      exports,
      deliveries,
      imageDetection,
      mediaLinks,
      thumbnails,
      renders,
      detectLimiter,
      jobWatcher,
      housekeeping,
    },
    metrics,
    async ready() {
      await withTimeout(database.ping(), 2000, 'the database');
      await withTimeout(queue.ping(), 2000, 'the queue');
    },
    app,
    close() {
      closing ??= (async () => {
        await app.close(); // stop accepting, finish in-flight requests (event streams end)
        await watchdog?.stop(); // a sweep in progress ends before the queue it uses closes
        jobWatcher.close();
        await housekeeping.stop();
        rateLimitRedis?.disconnect();
        await queue.close({ timeoutMs: 20_000 }); // stop taking tasks, wait for running ones
        await models.close();
        if (ownsDatabase) await database.close();
        metrics.close();
      })();
      return closing;
    },
  };
}
