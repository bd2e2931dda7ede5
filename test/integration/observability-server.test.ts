import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPipelineMetrics } from '../../src/observability/metrics.js';
import { type MetricsServer, startMetricsServer } from '../../src/observability/server.js';

/** A worker's metrics server over real HTTP on loopback. */
describe('worker metrics server', () => {
  const metrics = createPipelineMetrics();
  let ready: () => Promise<void> = async () => {};
  let server: MetricsServer;
  let base: string;

  before(async () => {
    metrics.instrumentHandlers({ detect: async () => {} }, { concurrency: 3 });
    server = await startMetricsServer({
      port: 0,
      host: '127.0.0.1',
      registries: [metrics.registry],
      ready: () => ready(),
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.close();
    metrics.close();
  });

  test('/metrics: the process defaults and the pipeline metrics, in Prometheus text', async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^worker_slots\{queue="detect"\} 3$/m);
    assert.match(text, /^worker_busy_ratio\{queue="detect"\} 0$/m);
    assert.match(text, /# TYPE inference_seconds histogram/);
  });

  test('/healthz answers; /readyz follows ready()', async () => {
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    ready = async () => {
      throw new Error('the queue did not answer within 2000 ms');
    };
    const r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), {
      status: 'not ready',
      reason: 'the queue did not answer within 2000 ms',
    });
  });

  test('other paths are a 404 and other methods a 405, in the error shape', async () => {
    const r = await fetch(`${base}/v1/jobs`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const p = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(p.status, 405);
    assert.equal(p.headers.get('allow'), 'GET, HEAD');
  });

  test('a port in use is refused at start', async () => {
    await assert.rejects(
      startMetricsServer({ port: server.port, host: '127.0.0.1', registries: [], ready: async () => {} }),
      /EADDRINUSE/,
    );
  });
});
