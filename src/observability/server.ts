import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The small HTTP server of a `worker` process (which has no API): GET /metrics (Prometheus text:
 * the process defaults and the registries given), /healthz (the process answers) and /readyz
 * (`ready()` resolves: database and queue reachable). Anything else is a 404. It exists so that
 * Prometheus can scrape each worker's own figures (frames, inference and decode time, busy ratio)
 * and so that a container's health check works the same for every role.
 */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  registries: Registry[];
  /** resolves when the worker can work (database and queue answer); rejects otherwise */
  ready(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const registry = Registry.merge([defaults, ...opts.registries]);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, body: unknown) =>
      send(status, 'application/json; charset=utf-8', JSON.stringify(body));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(405, {
        error: { code: 'METHOD_NOT_ALLOWED', message: 'Only GET and HEAD are served here.' },
      });
    }
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      opts.ready().then(
        () => json(200, { status: 'ready' }),
        (e: Error) => json(503, { status: 'not ready', reason: e.message }),
      );
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        () =>
          json(500, { error: { code: 'METRICS_FAILED', message: 'The metrics could not be collected.' } }),
      );
      return;
    }
    json(404, {
      error: { code: 'NOT_FOUND', message: 'Only /metrics, /healthz and /readyz are served here.' },
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
