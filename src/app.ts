import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { SHARED_SCHEMAS } from './api/schemas.js';
import type { Config } from './config.js';
import type { JobsRepository } from './db/repositories/jobs.js';
import { registerAuth } from './http/plugins/auth.js';
import { registerErrorHandler } from './http/plugins/errors.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerSwagger } from './http/plugins/swagger.js';
import { registerUploadRateGuard } from './http/plugins/upload-rate.js';
import { authRoutes } from './http/routes/auth.js';
import { deliveriesRoutes } from './http/routes/deliveries.js';
import { detectRoutes } from './http/routes/detect.js';
import { healthRoutes } from './http/routes/health.js';
import { jobsRoutes } from './http/routes/jobs.js';
import { mediaRoutes } from './http/routes/media.js';
import { renderRoutes } from './http/routes/renders.js';
import { resultsRoutes } from './http/routes/results.js';
import { thumbnailRoutes } from './http/routes/thumbnails.js';
import { tracksRoutes } from './http/routes/tracks.js';
import { webRoutes } from './http/routes/web.js';
import { registerValidation } from './http/validation.js';
import type { ModelRegistry } from './inference/registry.js';
import type { Logger } from './logger.js';
import type { ApiKeysService } from './services/api-keys.js';
import type { AuthService } from './services/auth.js';
import type { ConcurrencyLimiter } from './services/concurrency.js';
import type { DeliveriesService } from './services/deliveries.js';
import type { DetectionsService } from './services/detections.js';
import type { ExportsService } from './services/exports.js';
import type { ImageDetectionService } from './services/image-detection.js';
import type { JobWatcher } from './services/job-watcher.js';
import type { JobsService } from './services/jobs.js';
import type { MediaLinks } from './services/media-links.js';
import type { RendersService } from './services/renders.js';
import type { ThumbnailsService } from './services/thumbnails.js';
import type { TracksService } from './services/tracks.js';
import type { BlobStore } from './storage/local.js';

export const JSON_BODY_LIMIT = 64 * 1024;

/** What the HTTP app is built from: the services (made by the composition root, src/runtime.ts). */
export interface AppDeps {
  config: Config;
  /** a pino logger, or false for none */
  logger: Logger | false;
  auth: AuthService;
  apiKeys: ApiKeysService;
  jobs: JobsService;
  detections: DetectionsService;
  /** a job's tracks and their thumbnails */
  tracks: TracksService;
  /** a job's results as COCO, MOT, CVAT, YOLO or CSV */
  exports: Pick<ExportsService, 'open'>;
  deliveries: DeliveriesService;
  imageDetection: ImageDetectionService;
  /** POST /v1/detect's turns (DETECT_CONCURRENCY, DETECT_QUEUE, DETECT_TIMEOUT_SECONDS) */
  detectLimiter: ConcurrencyLimiter;
  mediaLinks: MediaLinks;
  /** job thumbnails for the web UI's list */
  thumbnails: ThumbnailsService;
  /** annotated videos of completed jobs */
  renders: RendersService;
  models: Pick<ModelRegistry, 'list'>;
  /** the stored videos, served to <video> by signed links */
  storage: Pick<BlobStore, 'stat' | 'createReadStream'>;
  /** read by the `jobs` metric at scrape time */
  jobsRepository: Pick<JobsRepository, 'countByStatus'>;
  /** readiness probes: each resolves when its part answers */
  readiness: { database(): Promise<void>; queue(): Promise<void> };
  /** event streams read their jobs through this, once per tick of `pollMs` */
  events: { watcher: Pick<JobWatcher, 'watch'>; pollMs: number };
  /** where rate-limit counters live when several processes must share them (REDIS_URL); else in memory */
  rateLimitRedis?: Redis;
  /** more metrics for GET /metrics (the pipeline's and the queue's, see src/observability/) */
  metricsRegistries?: Registry[];
}

/**
 * Security headers (helmet) for every answer, with a Content-Security-Policy the web UI works
 * under: its scripts and styles are files from this origin (no inline script; styles set from
 * script go through the CSSOM, which CSP allows), the favicon is a data: URL, videos and API
 * calls are same-origin. No framing anywhere (frame-ancestors 'none'), no referrer (signed media
 * URLs and job ids stay here). HSTS is left to the TLS-terminating proxy: over plain HTTP it means
 * nothing, and on a LAN address it would lock browsers out. Swagger UI at /docs sets its own
 * policy (src/http/plugins/swagger.ts).
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'object-src': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probes and scrapers call these every few seconds: their requests are logged at debug level. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const isProbe = (request: FastifyRequest) => PROBE_PATHS.has((request.url ?? '').split('?')[0]);

/** Fastify's request log lines, with the probes' moved from info to debug. */
class ProbesAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (isProbe(request)) request.log.debug({ req: request }, 'incoming request');
    else super.incomingRequest(request, reply);
  }
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (isProbe(request) && !error) {
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
    } else super.requestCompleted(error, request, reply);
  }
}

/** TRUST_PROXY as Fastify takes it (a hop count as the function Fastify would make of it). */
function trustProxyOption(
  t: Config['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof t === 'number') return (_address, hop) => hop < t;
  return typeof t === 'boolean' ? t : [...t];
}

/** The Fastify app with every plugin and route. Not listening yet. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const app = Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    bodyLimit: JSON_BODY_LIMIT,
    requestIdHeader: false,
    genReqId(req) {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // which proxies' X-Forwarded-For to believe (TRUST_PROXY): request.ip, and so every
    // per-address rate limit, is the real client's address behind them
    trustProxy: trustProxyOption(config.trustProxy),
    // the whole request must arrive within REQUEST_TIMEOUT_SECONDS (a 4 GiB upload on a slow
    // link fits); a connection silent for IDLE_TIMEOUT_SECONDS is closed; idle keep-alive
    // connections live a little longer than common load balancers' 60 s
    requestTimeout: config.requestTimeoutSeconds * 1000,
    connectionTimeout: config.idleTimeoutSeconds * 1000,
    keepAliveTimeout: 72_000,
    logController: new ProbesAtDebug(),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerValidation(app);
  registerErrorHandler(app, { bodyLimit: JSON_BODY_LIMIT });
  registerUploadRateGuard(app, {
    minBytesPerSecond: config.minUploadBytesPerSecond,
    windowMs: config.uploadRateWindowSeconds * 1000,
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });
  await registerSwagger(app, { version: packageVersion() });
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    ...(deps.rateLimitRedis
      ? { redis: deps.rateLimitRedis, nameSpace: `${config.queuePrefix}:rate-limit:` }
      : {}),
  });
  await app.register(multipart, {
    throwFileSizeLimit: false,
    limits: {
      fileSize: config.maxUploadBytes,
      files: 2,
      fields: 50,
      parts: 60,
      fieldSize: 8 * 1024,
      fieldNameSize: 100,
      headerPairs: 200,
    },
  });
  registerAuth(app, { auth: deps.auth, apiKeys: deps.apiKeys });
  registerMetrics(app, { jobs: deps.jobsRepository, registries: deps.metricsRegistries });

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(authRoutes, { auth: deps.auth, apiKeys: deps.apiKeys, config });
  await app.register(jobsRoutes, { jobs: deps.jobs, maxUploadBytes: config.maxUploadBytes });
  await app.register(deliveriesRoutes, { deliveries: deps.deliveries });
  await app.register(resultsRoutes, {
    jobs: deps.jobs,
    detections: deps.detections,
    watcher: deps.events.watcher,
    pollMs: deps.events.pollMs,
    maxStreamsPerUser: config.userMaxEventStreams,
  });
  await app.register(detectRoutes, {
    models: deps.models,
    imageDetection: deps.imageDetection,
    limiter: deps.detectLimiter,
    ratePerMinute: config.detect.rateLimitPerMinute,
  });
  await app.register(mediaRoutes, { links: deps.mediaLinks, jobs: deps.jobs, storage: deps.storage });
  await app.register(thumbnailRoutes, { thumbnails: deps.thumbnails });
  await app.register(tracksRoutes, { tracks: deps.tracks, exports: deps.exports });
  await app.register(renderRoutes, { renders: deps.renders, storage: deps.storage });
  await app.register(webRoutes);
  return app;
}
