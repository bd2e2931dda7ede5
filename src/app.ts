import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { SHARED_SCHEMAS } from './api/schemas.js';
import type { Config } from './config.js';
import type { JobsRepository } from './db/repositories/jobs.js';
import { registerAuth } from './http/plugins/auth.js';
import { registerErrorHandler } from './http/plugins/errors.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerSwagger } from './http/plugins/swagger.js';
import { authRoutes } from './http/routes/auth.js';
import { detectRoutes } from './http/routes/detect.js';
import { healthRoutes } from './http/routes/health.js';
import { jobsRoutes } from './http/routes/jobs.js';
import { mediaRoutes } from './http/routes/media.js';
import { resultsRoutes } from './http/routes/results.js';
import { thumbnailRoutes } from './http/routes/thumbnails.js';
import { webRoutes } from './http/routes/web.js';
import { registerValidation } from './http/validation.js';
import type { ModelRegistry } from './inference/registry.js';
import type { Logger } from './logger.js';
import type { AuthService } from './services/auth.js';
import type { DetectionsService } from './services/detections.js';
import type { ImageDetectionService } from './services/image-detection.js';
import type { JobsService } from './services/jobs.js';
import type { MediaLinks } from './services/media-links.js';
import type { ThumbnailsService } from './services/thumbnails.js';
import type { BlobStore } from './storage/local.js';

export const JSON_BODY_LIMIT = 64 * 1024;

/** What the HTTP app is built from: the services (made by the composition root, src/runtime.ts). */
export interface AppDeps {
  config: Config;
  /** a pino logger, or false for none */
  logger: Logger | false;
  auth: AuthService;
  jobs: JobsService;
  detections: DetectionsService;
  imageDetection: ImageDetectionService;
  mediaLinks: MediaLinks;
  /** job thumbnails for the web UI's list */
  thumbnails: ThumbnailsService;
  models: Pick<ModelRegistry, 'list'>;
  /** the stored videos, served to <video> by signed links */
  storage: Pick<BlobStore, 'stat' | 'createReadStream'>;
  /** read by the `jobs` metric at scrape time */
  jobsRepository: Pick<JobsRepository, 'countByStatus'>;
  /** readiness probes: each resolves when its part answers */
  readiness: { database(): Promise<void>; queue(): Promise<void> };
  /** how often an events stream re-reads its job (ms; default 1000) */
  eventsPollMs?: number;
  /** more metrics for GET /metrics (the pipeline's and the queue's, see src/observability/) */
  metricsRegistries?: Registry[];
}

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

/** Probes and scrapers call these every few seconds: their requests are logged only at debug level. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

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
    disableRequestLogging: (req) =>
      PROBE_PATHS.has((req.url ?? '').split('?')[0]) && !(logger && logger.isLevelEnabled('debug')),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerValidation(app);
  registerErrorHandler(app, { bodyLimit: JSON_BODY_LIMIT });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await registerSwagger(app, { version: packageVersion() });
  await app.register(rateLimit, { global: false, hook: 'preHandler' });
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
  registerAuth(app, deps.auth);
  registerMetrics(app, { jobs: deps.jobsRepository, registries: deps.metricsRegistries });

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(authRoutes, { auth: deps.auth, config });
  await app.register(jobsRoutes, { jobs: deps.jobs, maxUploadBytes: config.maxUploadBytes });
  await app.register(resultsRoutes, {
    jobs: deps.jobs,
    detections: deps.detections,
    eventsPollMs: deps.eventsPollMs,
  });
  await app.register(detectRoutes, { models: deps.models, imageDetection: deps.imageDetection });
  await app.register(mediaRoutes, { links: deps.mediaLinks, jobs: deps.jobs, storage: deps.storage });
  await app.register(thumbnailRoutes, { thumbnails: deps.thumbnails });
  await app.register(webRoutes);
  return app;
}
