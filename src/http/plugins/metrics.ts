import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { JobsRepository } from '../../db/repositories/jobs.js';

/**
 * Prometheus metrics, one registry per app (tests build many apps in one process):
 * `http_request_duration_seconds{method,route,status}` and `jobs{status}` read from the
 * database at scrape time, plus the process defaults and `deps.registries` (the pipeline's and
 * the queue's: src/observability/metrics.ts). Served at GET /metrics.
 */
export function registerMetrics(
  app: FastifyInstance,
  deps: { jobs: Pick<JobsRepository, 'countByStatus'>; registries?: Registry[] },
): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'jobs',
    help: 'Jobs by status (read from the database at scrape time)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await deps.jobs.countByStatus();
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    duration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // a merged registry reads the same metric objects: later updates show
  const served = deps.registries?.length ? Registry.merge([registry, ...deps.registries]) : registry;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await served.metrics();
    return reply.type(served.contentType).send(text);
  });
  return served;
}
