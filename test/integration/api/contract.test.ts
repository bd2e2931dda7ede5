/**
 * The API contract, checked on the wire: every response and event the web UI consumes validates
 * against the schema in src/api/schemas.ts that the UI's types come from. A server that sent a
 * shape the UI does not expect (as the progress event once did) fails here.
 */
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  DetectResult,
  ErrorBody,
  FramesPage,
  Job,
  JobEnvelope,
  JobList,
  LabelsPage,
  ModelList,
  ProgressEvent,
  Readiness,
  StatusEvent,
  TokenPair,
  UserEnvelope,
  VideoUrl,
} from '../../../src/api/schemas.js';
import { fixture } from '../../fixtures/index.js';
import { call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';
import { readEvents, waitForJob } from '../pipeline/checks.js';

// the string formats the schemas use (Fastify's Ajv knows them; TypeBox's checker is told here)
FormatRegistry.Set('uuid', (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v));
FormatRegistry.Set(
  'date-time',
  (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v)),
);

/** Asserts `value` matches `schema` (with the shared $id components), naming the first mismatch. */
function assertValid(schema: TSchema, value: unknown, what: string): void {
  const refs = [Job, ErrorBody];
  if (Value.Check(schema, refs, value)) return;
  const first = Value.Errors(schema, refs, value).First();
  assert.fail(
    `${what} does not match its schema: ${first?.path} ${first?.message} in ${JSON.stringify(value)}`,
  );
}

describe('API responses and events validate against src/api/schemas.ts', () => {
  let tdb: TestDatabase;
  let srv: TestServer;
  let base: string;
  let token: string;

  before(async () => {
    tdb = await createTestDatabase('pglite');
    srv = await startServer(tdb, { CHUNK_SECONDS: '1' }, { workers: true });
    base = srv.url;
  });
  after(async () => {
    await srv?.close();
    await tdb?.drop();
  });

  test('accounts: register, login, refresh, me', async () => {
    const username = `contract_${Date.now().toString(36)}`;
    const reg = await call(base, 'POST', '/v1/auth/register', {
      json: { username, password: 'correct horse battery' },
    });
    assert.equal(reg.status, 201);
    assertValid(UserEnvelope, reg.body, 'POST /v1/auth/register');
    const login = await call(base, 'POST', '/v1/auth/login', {
      json: { username, password: 'correct horse battery' },
    });
    assertValid(TokenPair, login.body, 'POST /v1/auth/login');
    const refreshed = await call(base, 'POST', '/v1/auth/refresh', {
      json: { refreshToken: login.body.refreshToken },
    });
    assertValid(TokenPair, refreshed.body, 'POST /v1/auth/refresh');
    token = refreshed.body.accessToken;
    const me = await call(base, 'GET', '/v1/auth/me', { token });
    assertValid(UserEnvelope, me.body, 'GET /v1/auth/me');
    const bad = await call(base, 'GET', '/v1/auth/me', { token: 'nope' });
    assert.equal(bad.status, 401);
    assertValid(ErrorBody, bad.body, 'a 401');
  });

  test('a job from upload to completion: every SSE event, the job, the list, the detections', async () => {
    token ??= (await registerAndLogin(base)).accessToken;
    const up = await upload(base, token, await smallVideo(3));
    assert.equal(up.status, 202, up.text);
    assertValid(JobEnvelope, up.body, 'POST /v1/jobs');
    const id = up.body.job.id as string;
    const events = await readEvents(`${base}/v1/jobs/${id}/events`, token, 120_000);
    assert.ok(events.length >= 2, `events: ${JSON.stringify(events)}`);
    for (const e of events) {
      assert.ok(e.event === 'progress' || e.event === 'status', e.event);
      assertValid(e.event === 'progress' ? ProgressEvent : StatusEvent, e.data, `event: ${e.event}`);
    }
    assert.equal(events.at(-1)?.event, 'status');
    assert.deepEqual(events.at(-1)?.data, { status: 'completed', error: null });
    const done = await waitForJob(base, token, id);
    assertValid(Job, done, 'GET /v1/jobs/:id .job');
    assertValid(JobEnvelope, (await call(base, 'GET', `/v1/jobs/${id}`, { token })).body, 'GET /v1/jobs/:id');
    assertValid(JobList, (await call(base, 'GET', '/v1/jobs?limit=5', { token })).body, 'GET /v1/jobs');
    const page = await call(base, 'GET', `/v1/jobs/${id}/detections?limit=10`, { token });
    assertValid(FramesPage, page.body, 'GET detections');
    assert.equal(page.body.frames.length, 10);
    const labels = await call(base, 'GET', `/v1/jobs/${id}/detections?format=labels&limit=10`, { token });
    assertValid(LabelsPage, labels.body, 'GET detections?format=labels');
    assertValid(VideoUrl, (await call(base, 'GET', `/v1/jobs/${id}/video-url`, { token })).body, 'video-url');
    const again = await upload(base, token, await smallVideo(2));
    const canceled = await call(base, 'POST', `/v1/jobs/${again.body.job.id}/cancel`, { token });
    assert.equal(canceled.status, 200, canceled.text);
    assertValid(JobEnvelope, canceled.body, 'POST /v1/jobs/:id/cancel');
  });

  test('models, a single image, readiness', async () => {
    token ??= (await registerAndLogin(base)).accessToken;
    assertValid(ModelList, (await call(base, 'GET', '/v1/models')).body, 'GET /v1/models');
    const form = new FormData();
    form.append('image', await openAsBlob(fixture('coffee.png')), 'coffee.png');
    const detected = await call(base, 'POST', '/v1/detect', { token, body: form });
    assert.equal(detected.status, 200, detected.text);
    assertValid(DetectResult, detected.body, 'POST /v1/detect');
    assertValid(Readiness, (await call(base, 'GET', '/readyz')).body, 'GET /readyz');
  });
});
