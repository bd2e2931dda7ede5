import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from './config.js';
import { createDatabase, type DatabaseHandle, migrateToLatest } from './db/index.js';
import { createRepositories, type Repositories } from './db/repositories/index.js';
import type { Database } from './db/types.js';
import { registerAuth } from './http/plugins/auth.js';
import { registerErrorHandler } from './http/plugins/errors.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerSwagger } from './http/plugins/swagger.js';
import { authRoutes } from './http/routes/auth.js';
import { healthRoutes } from './http/routes/health.js';
import { jobsRoutes } from './http/routes/jobs.js';
import { ErrorBody, Job } from './http/schemas.js';
import { registerValidation } from './http/validation.js';
import { createLogger, type Logger } from './logger.js';
import { resolveMediaBinaries } from './media/binaries.js';
import { probeVideo, type VideoProbe } from './media/probe.js';
import { type AuthService, createAuthService } from './services/auth.js';
import { createArgon2Hasher, type PasswordHasher } from './services/auth-hasher.js';
import { createJobsService, type JobPipeline, type JobsService, noopPipeline } from './services/jobs.js';
import { type BlobStore, createLocalStorage } from './storage/local.js';

export const JSON_BODY_LIMIT = 64 * 1024;

export interface AppDeps {
  config: Config;
  db: Kysely<Database>;
  /** the jobs repository is read by the `jobs` metric at scrape time */
  repos: Pick<Repositories, 'jobs'>;
  auth: AuthService;
  jobs: JobsService;
  /** readiness probes besides the database: `queue()` resolves when the queue answers */
  readiness: { queue(): Promise<void> };
  /** a pino logger, or false for none (default: from config.logLevel) */
  logger?: Logger | false;
  /** more metrics for GET /metrics (the pipeline's and the queue's, see src/observability/) */
  metricsRegistries?: Registry[];
  /** route plugins registered after the core ones; `app.authenticate` and `request.user` work in them */
  extraRoutes?: FastifyPluginAsync[];
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

/** The Fastify app: plugins, core routes and `deps.extraRoutes`. Not listening yet. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger === undefined ? createLogger(config) : deps.logger;
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
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerValidation(app);
  registerErrorHandler(app, { bodyLimit: JSON_BODY_LIMIT });
  app.addSchema(ErrorBody);
  app.addSchema(Job);

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
  registerMetrics(app, { jobs: deps.repos.jobs, registries: deps.metricsRegistries });

  await app.register(healthRoutes, { db: deps.db, readiness: deps.readiness });
  await app.register(authRoutes, { auth: deps.auth, config });
  await app.register(jobsRoutes, { jobs: deps.jobs, maxUploadBytes: config.maxUploadBytes });
  for (const plugin of deps.extraRoutes ?? []) await app.register(plugin);
  return app;
}

/** Everything the API needs, wired: database (migrated), repositories, storage, services. */
export interface AppContext {
  config: Config;
  database: DatabaseHandle;
  repos: Repositories;
  storage: BlobStore;
  auth: AuthService;
  jobs: JobsService;
  hasher: PasswordHasher;
  close(): Promise<void>;
}

export interface AppContextOptions {
  pipeline?: JobPipeline;
  isKnownModel?: (name: string) => boolean;
  probe?: (file: string) => Promise<VideoProbe>;
  /** skip migrations (default: apply them) */
  migrate?: boolean;
}

export async function createAppContext(config: Config, opts: AppContextOptions = {}): Promise<AppContext> {
  const database = await createDatabase(config);
  try {
    if (opts.migrate !== false) await migrateToLatest(database.db);
  } catch (e) {
    await database.close().catch(() => {});
    throw e;
  }
  const repos = createRepositories(database.db);
  const storage = createLocalStorage(config.storageDir);
  const hasher = createArgon2Hasher(config.argon2);
  const auth = createAuthService({ users: repos.users, tokens: repos.refreshTokens, config, hasher });
  const probe =
    opts.probe ??
    ((file: string) => {
      const { ffprobe } = resolveMediaBinaries();
      return probeVideo(ffprobe, file);
    });
  const jobs = createJobsService({
    jobs: repos.jobs,
    storage,
    probe,
    config,
    isKnownModel: opts.isKnownModel ?? ((name) => name === 'centernet'),
    pipeline: opts.pipeline ?? noopPipeline,
  });
  return { config, database, repos, storage, auth, jobs, hasher, close: () => database.close() };
}
