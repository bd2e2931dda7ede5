import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import {
  createTestDatabase,
  DB_KINDS,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

for (const kind of DB_KINDS) {
  describe(`ops endpoints (${kind})`, () => {
    let tdb: TestDatabase;
    let srv: TestServer;
    const queue = recordingQueue();
    before(async () => {
      tdb = await createTestDatabase(kind);
      srv = await startServer(tdb, {}, { queue });
    });
    after(async () => {
      await srv?.close();
      await tdb?.drop();
    });

    it('/healthz', async () => {
      const r = await call(srv.url, 'GET', '/healthz');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'ok' });
    });

    it('/readyz: 200 when database and queue answer, 503 when the queue does not', async () => {
      const ok = await call(srv.url, 'GET', '/readyz');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { status: 'ok', checks: { database: 'ok', queue: 'ok' } });
      queue.pingFails = true;
      const down = await call(srv.url, 'GET', '/readyz');
      queue.pingFails = false;
      assert.equal(down.status, 503);
      assert.equal(down.body.status, 'unavailable');
      assert.equal(down.body.checks.database, 'ok');
      assert.match(down.body.checks.queue, /queue down/);
    });

    it('/metrics: request histogram and jobs gauge from the database', async () => {
      const s = await registerAndLogin(srv.url);
      assert.equal((await upload(srv.url, s.accessToken, await smallVideo(2))).status, 202);
      await call(srv.url, 'GET', '/v1/jobs', { token: s.accessToken });
      const m = await call(srv.url, 'GET', '/metrics');
      assert.equal(m.status, 200);
      assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
      assert.match(
        m.text,
        /http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs",status="200"\} 1/,
      );
      assert.match(
        m.text,
        /http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/v1\/auth\/login",status="200"\}|http_request_duration_seconds_bucket\{.*route="\/v1\/auth\/login"/,
      );
      assert.match(m.text, /^jobs\{status="queued"\} 1$/m);
      assert.match(m.text, /^jobs\{status="failed"\} 0$/m);
    });

    it('/openapi.json: OpenAPI 3.1, bearer scheme, every route with its schemas', async () => {
      const r = await call(srv.url, 'GET', '/openapi.json');
      assert.equal(r.status, 200);
      const doc = r.body;
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(doc.components.securitySchemes.bearerAuth, {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'an access token from /v1/auth/login, or an API key (wdk_…) from /v1/auth/api-keys',
      });
      const expected: [string, string][] = [
        ['/v1/auth/register', 'post'],
        ['/v1/auth/login', 'post'],
        ['/v1/auth/refresh', 'post'],
        ['/v1/auth/logout', 'post'],
        ['/v1/auth/me', 'get'],
        ['/v1/jobs', 'post'],
        ['/v1/jobs', 'get'],
        ['/v1/jobs/{id}', 'get'],
        ['/v1/jobs/{id}', 'delete'],
        ['/v1/jobs/{id}/cancel', 'post'],
        ['/v1/jobs/{id}/deliveries', 'get'],
        ['/v1/jobs/{id}/deliveries/redeliver', 'post'],
        ['/v1/jobs/{id}/renders', 'post'],
        ['/v1/jobs/{id}/renders/{renderId}', 'get'],
        ['/v1/media/{id}/renders/{renderId}', 'get'],
        ['/v1/auth/api-keys', 'post'],
        ['/v1/auth/api-keys', 'get'],
        ['/v1/auth/api-keys/{id}', 'delete'],
        ['/healthz', 'get'],
        ['/readyz', 'get'],
        ['/v1/jobs/{id}/tracks', 'get'],
        ['/v1/jobs/{id}/export', 'get'],
        ['/v1/media/{id}/tracks/{trackId}/thumbnail', 'get'],
      ];
      for (const [path, method] of expected) {
        const op = doc.paths[path]?.[method];
        assert.ok(op, `${method} ${path} documented`);
        assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
      }
      assert.ok(
        doc.paths['/v1/auth/register'].post.requestBody.content['application/json'].schema.properties
          .username,
      );
      assert.ok(
        doc.paths['/v1/jobs'].post.requestBody.content['multipart/form-data'].schema.properties.video,
      );
      assert.deepEqual(doc.paths['/v1/jobs/{id}'].get.security, [{ bearerAuth: [] }]);
      // the tracking parameters and fields (issue 11)
      const params = (path: string) =>
        (doc.paths[path].get.parameters as { name: string }[]).map((p) => p.name);
      for (const name of ['trackId', 'minFrames', 'includeNoise'])
        assert.ok(params('/v1/jobs/{id}/detections').includes(name), `detections ${name}`);
      for (const name of ['label', 'minFrames', 'cursor', 'limit'])
        assert.ok(params('/v1/jobs/{id}/tracks').includes(name), `tracks ${name}`);
      for (const name of [
        'format',
        'label',
        'minScore',
        'from',
        'to',
        'trackId',
        'minFrames',
        'includeNoise',
      ])
        assert.ok(params('/v1/jobs/{id}/export').includes(name), `export ${name}`);
      assert.ok(
        doc.paths['/v1/jobs'].post.requestBody.content['multipart/form-data'].schema.properties
          .minTrackFrames,
      );
      const trackFields = Object.keys(
        doc.paths['/v1/jobs/{id}/tracks'].get.responses['200'].content['application/json'].schema.properties
          .tracks.items.properties,
      );
      assert.deepEqual(trackFields.sort(), [
        'bestFrame',
        'box',
        'firstFrame',
        'firstSeen',
        'frames',
        'id',
        'label',
        'lastFrame',
        'lastSeen',
        'maxScore',
        'thumbnailUrl',
      ]);
      const renderBody =
        doc.paths['/v1/jobs/{id}/renders'].post.requestBody.content['application/json'].schema;
      assert.deepEqual(Object.keys(renderBody.properties).sort(), ['labels', 'minScore', 'tracks']);
      assert.ok(doc.paths['/v1/jobs/{id}/renders/{renderId}'].get.responses['200']);
      assert.ok(doc.components.schemas.Job);
      assert.ok(doc.components.schemas.ErrorBody);
      assert.equal(doc.paths['/metrics'], undefined);
      // every $ref resolves
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      for (const ref of refs) {
        const name = ref.slice(8, -1).replace('#/components/schemas/', '');
        assert.ok(doc.components.schemas[name], `dangling ${ref}`);
      }
    });

    it('/docs serves Swagger UI', async () => {
      const r = await fetch(`${srv.url}/docs`, { redirect: 'follow' });
      assert.equal(r.status, 200);
      assert.match(await r.text(), /swagger/i);
    });

    it('unknown routes are a 404 in the error shape', async () => {
      assertError(await call(srv.url, 'GET', '/v1/nope'), 404, 'NOT_FOUND');
    });
  });
}
