import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type AppContext, buildApp, createAppContext } from './app.js';
import type { Config } from './config.js';
import { createPipelineRepository, type PipelineRepository } from './db/repositories/pipeline.js';
import { ConfigError } from './errors.js';
import { detectRoutes } from './http/routes/detect.js';
import { mediaRoutes } from './http/routes/media.js';
import { resultsRoutes } from './http/routes/results.js';
import { webRoutes } from './http/routes/web.js';
import { CUDA_INSTALL_HINT, cudaProviderInstalled } from './inference/cuda.js';
import { parseDevice } from './inference/device.js';
import { createModelRegistry, type ModelRegistry } from './inference/registry.js';
import type { Logger } from './logger.js';
import { type MediaBinaries, resolveMediaBinaries } from './media/binaries.js';
import { deliverCallback } from './pipeline/callbacks.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { createTaskHandlers, enqueueCallback, type JobForPipeline } from './pipeline/tasks.js';
import { createWatchdog } from './pipeline/watchdog.js';
import { createBullmqQueue } from './queue/bullmq.js';
import { createMemoryQueue } from './queue/memory.js';
import type { TaskName, TaskQueue } from './queue/port.js';
import { createDetectionsService } from './services/detections.js';
import { createMediaLinks } from './services/media-links.js';

/**
 * The composition root: builds every part from the configuration and wires them, for each role.
 * `serve` (API, and in standalone mode the workers too), `worker` (tasks only) and the local
 * `detect` command all come through here, so they run the same code.
 */

/** The converted default model is cached inside the installation, not in DATA_DIR. */
export const MODEL_CACHE_DIR = fileURLToPath(new URL('../models/cache', import.meta.url));

export interface RuntimeOptions {
  log: Logger;
  /** run task handlers in this process */
  workers: boolean;
  /** which tasks this process consumes (default: all) */
  queues?: TaskName[];
  concurrency?: number;
  /** first retry delay of a failed task (ms) */
  backoffMs?: number;
  /** ffmpeg decoder threads per chunk (default 1; benchmarks compare) */
  decodeThreads?: number;
  /** frames ffmpeg may decode ahead of the detector (default: decodeChunkFrames') */
  decodeReadAhead?: number;
  /** a chunk's results are written at most this often, in ms (default: the pipeline's, 1000) */
  writeEveryMs?: number;
}

export interface Runtime {
  config: Config;
  ctx: AppContext;
  queue: TaskQueue;
  pipeline: Pipeline;
  models: ModelRegistry;
  media: MediaBinaries;
  repo: PipelineRepository;
  /** the HTTP app (not listening) */
  buildHttpApp(): ReturnType<typeof buildApp>;
  close(): Promise<void>;
}

/** A key for one purpose derived from the JWT secret, so one leaked key does not give the other. */
export function deriveKey(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(`web-detector:${purpose}`).digest('base64url');
}

/** BullMQ's key prefix in Redis: QUEUE_PREFIX (so benchmarks and tests can share a Redis), default "wd". */
export function queuePrefix(env: NodeJS.ProcessEnv = process.env): string {
  const p = env.QUEUE_PREFIX?.trim();
  return p ? p : 'wd';
}

export interface QueueTiming {
  /** a worker's lock on a running task (QUEUE_LOCK_MS, default 30 000): a dead worker's task is taken up after about this */
  lockDurationMs: number;
  /** how often workers look for stalled tasks (QUEUE_STALLED_MS, default 15 000) */
  stalledIntervalMs: number;
  /** first retry delay of a failed task (TASK_BACKOFF_MS, default 2000; doubles each attempt) */
  backoffMs: number;
}

/**
 * Queue timing from the environment: operational knobs that tests shorten (a killed worker's chunk
 * comes back in seconds, a failing task gives up quickly). A bad value is refused with one sentence.
 */
export function queueTimingFromEnv(env: NodeJS.ProcessEnv = process.env): QueueTiming {
  const int = (name: string, dflt: number, min: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
      throw new ConfigError(`${name} must be a whole number of milliseconds, at least ${min}.`);
    }
    return n;
  };
  return {
    lockDurationMs: int('QUEUE_LOCK_MS', 30_000, 500),
    stalledIntervalMs: int('QUEUE_STALLED_MS', 15_000, 100),
    backoffMs: int('TASK_BACKOFF_MS', 2000, 0),
  };
}

/**
 * Asking for CUDA where ONNX Runtime has no CUDA provider stops start-up with a sentence (rather
 * than failing the first job an hour later).
 */
export function checkDetectorDevice(spec: string, providerInstalled = cudaProviderInstalled): void {
  const wantsCuda = parseDevice(spec).some((d) => d.kind === 'cuda');
  if (wantsCuda && !providerInstalled()) {
    throw new ConfigError(`DETECTOR_DEVICE is ${spec}, but ${CUDA_INSTALL_HINT}`);
  }
}

export async function createRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  const { log } = opts;
  checkDetectorDevice(config.detectorDevice);
  const media = resolveMediaBinaries();
  const models = await createModelRegistry({
    modelsDir: config.modelsDir ?? undefined,
    cacheDir: MODEL_CACHE_DIR,
    device: config.detectorDevice,
    intraOpThreads: config.detectorThreads,
    maxBatch: config.detectorBatchSize,
  });
  // QUEUE_PREFIX separates deployments (or test runs) sharing one Redis
  const qs = queueTimingFromEnv();
  const queue: TaskQueue = config.redisUrl
    ? createBullmqQueue({
        url: config.redisUrl,
        prefix: queuePrefix(),
        lockDuration: qs.lockDurationMs,
        stalledInterval: qs.stalledIntervalMs,
        fairWindow: config.queueFairWindow,
      })
    : createMemoryQueue();
  // the jobs service needs the pipeline, the pipeline needs the database the context opens
  let pipeline: Pipeline | undefined;
  const ctx = await createAppContext(config, {
    isKnownModel: (name) => models.list().some((m) => m.name === name),
    pipeline: {
      submit: (jobId) => pipeline!.submit(jobId),
      cancel: (jobId) => pipeline!.cancel(jobId),
    },
  });
  const repo = createPipelineRepository(ctx.database.db);
  const settings = {
    chunkSeconds: config.chunkSeconds,
    batchSize: config.detectorBatchSize,
    attempts: config.taskAttempts,
    backoffMs: opts.backoffMs ?? qs.backoffMs,
    decodeThreads: opts.decodeThreads,
    decodeReadAhead: opts.decodeReadAhead,
    writeEveryMs: opts.writeEveryMs,
    userMaxActiveJobs: config.userMaxActiveJobs,
    callbackRetryDelaysMs: config.callbackRetryDelaysMs ?? undefined,
  };
  const loadJob = (jobId: string) => repo.getJob(jobId) as Promise<JobForPipeline | null>;
  const enqueueNotify = (jobId: string) =>
    enqueueCallback({ queue, loadJob, retryDelaysMs: settings.callbackRetryDelaysMs }, jobId);
  pipeline = createPipeline({ repo, queue, log, settings, afterFailure: enqueueNotify });
  let watchdog: { stop(): Promise<void> } | undefined;
  const callbackSecret = config.callbackSecret;

  if (opts.workers) {
    const handlers = createTaskHandlers({
      repo,
      loadJob,
      videoPath: (key) => ctx.storage.path(key),
      media,
      detectors: models,
      queue,
      log,
      settings,
      async notify(jobId) {
        const job = await repo.getJob(jobId);
        if (!job?.options?.callbackUrl) return;
        await deliverCallback(
          job.options.callbackUrl,
          {
            jobId,
            status: job.status,
            error: job.error,
            finishedAt: job.finishedAt ? new Date(job.finishedAt).toISOString() : null,
            framesAnalysed: job.framesDone,
            links: { self: `/v1/jobs/${jobId}`, detections: `/v1/jobs/${jobId}/detections` },
          },
          { secret: callbackSecret, allowlist: config.callbackAllowlist },
        );
      },
    });
    await queue.work(handlers, {
      concurrency: opts.concurrency ?? config.workerConcurrency,
      names: opts.queues,
    });
    // processes that plan jobs also watch them (one at a time: the watchdog takes a lease)
    if (!opts.queues || opts.queues.includes('process')) {
      watchdog = createWatchdog({
        repo,
        queue,
        log,
        settings: {
          maxRuns: config.taskAttempts,
          stallMs: config.jobStallSeconds * 1000,
          idleMs: Math.max(60_000, 2 * (qs.lockDurationMs + qs.stalledIntervalMs)),
          attempts: settings.attempts,
          backoffMs: settings.backoffMs,
        },
        afterFailure: enqueueNotify,
      }).start(config.watchdogIntervalSeconds * 1000);
    }
  }

  const detections = createDetectionsService({ repo });
  const links = createMediaLinks({
    secret: deriveKey(config.jwtSecret, 'media-links'),
    ttlSeconds: config.mediaUrlTtlSeconds,
  });

  return {
    config,
    ctx,
    queue,
    pipeline,
    models,
    media,
    repo,
    buildHttpApp: () =>
      buildApp({
        config,
        db: ctx.database.db,
        repos: ctx.repos,
        auth: ctx.auth,
        jobs: ctx.jobs,
        readiness: { queue: () => queue.ping() },
        logger: log,
        extraRoutes: [
          async (app) => resultsRoutes(app as never, { jobs: ctx.jobs, detections }),
          async (app) => detectRoutes(app as never, { models, media }),
          async (app) => mediaRoutes(app as never, { links, jobs: ctx.jobs, storage: ctx.storage }),
          webRoutes,
        ],
      }),
    async close() {
      await watchdog?.stop();
      await queue.close({ timeoutMs: 20_000 });
      await models.close();
      await ctx.close();
    },
  };
}
