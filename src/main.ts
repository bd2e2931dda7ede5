import { pathToFileURL } from 'node:url';
import { parseFlags, positiveInt, UsageError } from './cli/args.js';
import { detectCommand } from './cli/detect.js';
import { gpuCommand } from './cli/gpu.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createDatabase, migrateToLatest } from './db/index.js';
import { createLogger, type Logger } from './logger.js';
import { startMetricsServer } from './observability/server.js';
import { TASK_NAMES, type TaskName } from './queue/port.js';
import { createRuntime, type Runtime } from './runtime.js';

/**
 * The command line. Roles:
 *   serve    the HTTP API; with workers in this process unless --no-workers (standalone default)
 *   worker   task workers only (distributed mode: needs DATABASE_URL and REDIS_URL)
 *   migrate  apply database migrations and exit
 *   detect   detections for one image or video, printed as JSON, without a server
 */

const HELP = `Usage: web-detector <command> [options]

Commands:
  serve [--no-workers]       apply migrations, then serve the HTTP API (default command).
                             Standalone (no REDIS_URL): the workers run in this process.
  worker [--queues process,detect,track,finalize,notify,render] [--concurrency N]
                             run task workers only (needs DATABASE_URL and REDIS_URL)
  migrate                    apply database migrations and exit
  detect <file> [--min-score 0.25] [--labels a,b] [--model name] [--fps N] [--min-track-frames 5]
                [--include-noise] [--format json|ndjson|mot|coco|cvat|yolo|csv] [--out file]
                [--render out.mp4]
                             detect objects in an image or a video and print JSON
  gpu setup|check            install ONNX Runtime's CUDA provider (opt-in) / check a GPU machine
  --help                     show this help

Configuration comes from environment variables (PORT, HOST, DATA_DIR, DATABASE_URL, REDIS_URL,
JWT_SECRET, ...): see README.md.
`;

const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Refuses, with one sentence, role and configuration combinations that cannot work. */
export function checkRole(
  role: 'serve' | 'worker',
  config: Pick<Config, 'databaseUrl' | 'redisUrl'>,
  inProcessWorkers: boolean,
): void {
  if (role === 'worker') {
    if (!config.databaseUrl) {
      throw new ConfigError(
        'Workers in other processes cannot share an embedded PGlite database: set DATABASE_URL to a PostgreSQL server.',
      );
    }
    if (!config.redisUrl) {
      throw new ConfigError(
        'Workers in other processes need a shared queue: set REDIS_URL to a Redis server.',
      );
    }
  }
  if (role === 'serve' && !inProcessWorkers && !config.redisUrl) {
    throw new ConfigError(
      'serve --no-workers needs REDIS_URL: without it no other process can take the jobs.',
    );
  }
  if (role === 'serve' && !inProcessWorkers && !config.databaseUrl) {
    throw new ConfigError(
      'serve --no-workers needs DATABASE_URL: workers in other processes cannot share an embedded PGlite database.',
    );
  }
}

function onSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out, exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}

export async function serve(argv: string[]): Promise<void> {
  const { flags } = parseFlags(argv, { 'no-workers': 'boolean' });
  const config = loadConfig();
  const workers = !flags['no-workers'];
  checkRole('serve', config, workers);
  const log = createLogger(config);
  const rt: Runtime = await createRuntime(config, { log, workers });
  const { app } = rt;
  // While shutting down, answers tell keep-alive clients to close their connection: otherwise a
  // connection busy when the signal came stays open, idle, and holds up app.close().
  let closing = false;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  await app.listen({ port: config.port, host: config.host });
  log.info(
    {
      db: rt.database.kind,
      queue: config.redisUrl ? 'bullmq' : 'memory',
      workers,
      dataDir: config.dataDir,
    },
    'web-detector is serving',
  );
  if (workers && !config.redisUrl) {
    // the in-process queue kept nothing across the restart: take up the unfinished jobs again
    const n = await rt.pipeline.resumeUnfinished();
    if (n > 0) log.info({ jobs: n }, 'resumed unfinished jobs');
  }
  onSignals(log, async () => {
    closing = true;
    await rt.close(); // stop accepting, finish in-flight requests and running tasks, close the database
  });
}

export async function worker(argv: string[]): Promise<void> {
  const { flags } = parseFlags(argv, { queues: 'string', concurrency: 'string' });
  const config = loadConfig();
  checkRole('worker', config, true);
  let queues: TaskName[] | undefined;
  if (typeof flags.queues === 'string') {
    queues = flags.queues.split(',').map((q) => q.trim()) as TaskName[];
    const bad = queues.find((q) => !TASK_NAMES.includes(q));
    if (bad !== undefined)
      throw new UsageError(`Unknown queue ${JSON.stringify(bad)}: queues are ${TASK_NAMES.join(', ')}.`);
  }
  const concurrency = positiveInt('concurrency', flags.concurrency, config.workerConcurrency);
  const log = createLogger(config);
  const rt = await createRuntime(config, { log, workers: true, queues, concurrency });
  // METRICS_PORT: this worker's /metrics, /healthz and /readyz (a worker has no API to serve them)
  const metricsServer =
    config.metricsPort === null
      ? null
      : await startMetricsServer({
          port: config.metricsPort,
          host: config.host,
          registries: [rt.metrics.registry],
          ready: () => rt.ready(),
        }).catch(async (e: Error) => {
          await rt.close();
          throw new ConfigError(`METRICS_PORT ${config.metricsPort} cannot be used: ${e.message}`);
        });
  log.info(
    { queues: queues ?? TASK_NAMES, concurrency, pid: process.pid, metricsPort: metricsServer?.port },
    'web-detector worker is running',
  );
  onSignals(log, async () => {
    await metricsServer?.close();
    await rt.close();
  });
}

export async function migrate(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config);
  const database = await createDatabase(config);
  try {
    const result = await migrateToLatest(database.db);
    const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    log.info(
      { db: database.kind, applied },
      applied.length ? 'migrations applied' : 'database is up to date',
    );
  } finally {
    await database.close();
  }
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `web-detector detect video.mp4 | head`: a closed pipe ends the output, it is not a crash
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  try {
    if (command === 'serve') await serve(rest);
    else if (command === 'worker') await worker(rest);
    else if (command === 'migrate') await migrate();
    else if (command === 'detect') await detectCommand(rest);
    else if (command === 'gpu') process.exitCode = await gpuCommand(rest);
    else throw new UsageError(`Unknown command ${JSON.stringify(command)}.`);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n\n${HELP}`);
      process.exit(2);
    }
    process.stderr.write(`web-detector failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  }
}

// run when executed directly (node dist/main.js, tsx src/main.ts) or imported by bin/web-detector.js
const entry = process.argv[1] ? pathToFileURL(process.argv[1]).href : '';
if (import.meta.url === entry) void main();
