/**
 * API keys for scripts (issue 10, item 5): made by a signed-in user and shown once, stored only
 * hashed, listed without secrets, revoked at once; a key works as a Bearer token with exactly its
 * scopes (`read`: GET; `write`: everything else), and never manages keys itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ApiKeyCreated, ApiKeyList } from '../../../src/api/schemas.js';
import { checkScope, requiredScope } from '../../../src/http/plugins/auth.js';
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

FormatRegistry.Set('uuid', (v) => /^[0-9a-f-]{36}$/.test(v));
FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));

describe('scopes (pure)', () => {
  it('GET and HEAD need read, everything else write, unless the route says', () => {
    assert.equal(requiredScope('GET', undefined), 'read');
    assert.equal(requiredScope('HEAD', undefined), 'read');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(requiredScope(m, undefined), 'write');
    assert.equal(requiredScope('GET', 'session'), 'session');
  });
  it('a session may do everything; a key what it was made for; only a session manages keys', () => {
    const session = { scopes: ['read', 'write'] as const, via: 'session' as const };
    const readKey = { scopes: ['read'] as const, via: 'api-key' as const };
    for (const s of ['read', 'write', 'session'] as const) checkScope(session, s);
    checkScope(readKey, 'read');
    assert.throws(() => checkScope(readKey, 'write'), /needs write/);
    assert.throws(() => checkScope({ ...readKey, scopes: ['read', 'write'] }, 'session'), /signed-in user/);
  });
});

for (const kind of DB_KINDS) {
  describe(`API keys (${kind})`, () => {
    let tdb: TestDatabase;
    let srv: TestServer;
    let base: string;
    let alice: Awaited<ReturnType<typeof registerAndLogin>>;
    let bob: Awaited<ReturnType<typeof registerAndLogin>>;
    let video: string;
    const make = (token: string, body: unknown) =>
      call(base, 'POST', '/v1/auth/api-keys', { token, json: body });

    before(async () => {
      video = await smallVideo(2);
      tdb = await createTestDatabase(kind);
      srv = await startServer(tdb, {}, { queue: recordingQueue() });
      base = srv.url;
      alice = await registerAndLogin(base);
      bob = await registerAndLogin(base);
    });
    after(async () => {
      await srv?.close();
      await tdb?.drop();
    });

    it('is made once (201, the key in that answer only), listed without it, stored only as a hash', async () => {
      const res = await make(alice.accessToken, { name: 'nightly script', scopes: ['write', 'read'] });
      assert.equal(res.status, 201, res.text);
      assert.ok(Value.Check(ApiKeyCreated, res.body), res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const { apiKey, key } = res.body;
      assert.match(key, /^wdk_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/);
      assert.equal(key.slice(4, 36), apiKey.id.replaceAll('-', ''));
      assert.deepEqual(apiKey.scopes, ['read', 'write']);
      assert.equal(apiKey.name, 'nightly script');
      assert.equal(apiKey.lastUsedAt, null);

      const list = await call(base, 'GET', '/v1/auth/api-keys', { token: alice.accessToken });
      assert.equal(list.status, 200);
      assert.ok(Value.Check(ApiKeyList, list.body), list.text);
      assert.deepEqual(
        list.body.apiKeys.map((k: { id: string }) => k.id),
        [apiKey.id],
      );
      assert.ok(!list.text.includes(key.slice(37)), 'the secret is not listed');
      const rows = await tdb.handle.db.selectFrom('api_keys').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(key.slice(37)), 'the secret is not stored');
      assert.match(rows[0].secret_hash, /^[0-9a-f]{64}$/);
      // bob sees none of alice's keys
      assert.deepEqual(
        (await call(base, 'GET', '/v1/auth/api-keys', { token: bob.accessToken })).body.apiKeys,
        [],
      );
    });

    it('a write key does what its user may: upload, read, cancel, delete; it records its last use', async () => {
      const { key, apiKey } = (await make(alice.accessToken, { name: 'writer', scopes: ['read', 'write'] }))
        .body;
      const up = await upload(base, key, video);
      assert.equal(up.status, 202, up.text);
      const id = up.body.job.id;
      assert.equal((await call(base, 'GET', `/v1/jobs/${id}`, { token: key })).status, 200);
      assert.equal((await call(base, 'GET', '/v1/auth/me', { token: key })).body.user.id, alice.userId);
      assert.equal((await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: key })).status, 200);
      assert.equal((await call(base, 'DELETE', `/v1/jobs/${id}`, { token: key })).status, 204);
      const listed = (await call(base, 'GET', '/v1/auth/api-keys', { token: alice.accessToken })).body
        .apiKeys;
      const used = listed.find((k: { id: string }) => k.id === apiKey.id);
      assert.ok(used.lastUsedAt && Date.parse(used.lastUsedAt) <= Date.now());
      // another user's job stays a 404 for alice's key
      const bobs = (await upload(base, bob.accessToken, video)).body.job.id;
      assertError(await call(base, 'GET', `/v1/jobs/${bobs}`, { token: key }), 404, 'JOB_NOT_FOUND');
    });

    it('a read key reads, and cannot create, cancel or delete jobs, nor detect', async () => {
      const { key } = (await make(alice.accessToken, { name: 'dashboard', scopes: ['read'] })).body;
      const job = (await upload(base, alice.accessToken, video)).body.job.id;
      assert.equal((await call(base, 'GET', '/v1/jobs', { token: key })).status, 200);
      assert.equal((await call(base, 'GET', `/v1/jobs/${job}/detections`, { token: key })).status, 200);
      assert.equal((await call(base, 'GET', `/v1/jobs/${job}/deliveries`, { token: key })).status, 200);
      const refused = [
        await upload(base, key, video),
        await call(base, 'POST', `/v1/jobs/${job}/cancel`, { token: key }),
        await call(base, 'DELETE', `/v1/jobs/${job}`, { token: key }),
        await call(base, 'POST', `/v1/jobs/${job}/deliveries/redeliver`, { token: key }),
        await call(base, 'POST', '/v1/detect', { token: key, body: new FormData() }),
      ];
      for (const res of refused) {
        assertError(res, 403, 'INSUFFICIENT_SCOPE');
        assert.equal(res.body.error.message, 'This API key has the read scope; this request needs write.');
      }
      assert.equal(
        (await call(base, 'GET', `/v1/jobs/${job}`, { token: alice.accessToken })).body.job.status,
        'queued',
      );
    });

    it('a write-only key cannot read', async () => {
      const { key } = (await make(alice.accessToken, { name: 'uploader', scopes: ['write'] })).body;
      assertError(await call(base, 'GET', '/v1/jobs', { token: key }), 403, 'INSUFFICIENT_SCOPE');
      assert.equal((await upload(base, key, video)).status, 202);
    });

    it('works on the events stream as ?access_token= too (a key is a bearer credential)', async () => {
      const { key } = (await make(alice.accessToken, { name: 'events', scopes: ['read'] })).body;
      const job = (await upload(base, alice.accessToken, video)).body.job.id;
      await call(base, 'POST', `/v1/jobs/${job}/cancel`, { token: alice.accessToken });
      const res = await fetch(`${base}/v1/jobs/${job}/events?access_token=${key}`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"status":"canceled"/);
    });

    it('keys are managed only by a signed-in user, never with a key', async () => {
      const { key, apiKey } = (await make(alice.accessToken, { name: 'both', scopes: ['read', 'write'] }))
        .body;
      for (const res of [
        await make(key, { name: 'minted', scopes: ['write'] }),
        await call(base, 'GET', '/v1/auth/api-keys', { token: key }),
        await call(base, 'DELETE', `/v1/auth/api-keys/${apiKey.id}`, { token: key }),
      ]) {
        assertError(res, 403, 'SESSION_REQUIRED');
      }
    });

    it('revoking works at once; a tampered, unknown or malformed key is a 401', async () => {
      const { key, apiKey } = (await make(alice.accessToken, { name: 'short-lived', scopes: ['read'] })).body;
      assert.equal((await call(base, 'GET', '/v1/jobs', { token: key })).status, 200);
      assertError(
        await call(base, 'DELETE', `/v1/auth/api-keys/${apiKey.id}`, { token: bob.accessToken }),
        404,
        'API_KEY_NOT_FOUND',
      );
      assert.equal(
        (await call(base, 'DELETE', `/v1/auth/api-keys/${apiKey.id}`, { token: alice.accessToken })).status,
        204,
      );
      assertError(await call(base, 'GET', '/v1/jobs', { token: key }), 401, 'INVALID_API_KEY');
      assertError(
        await call(base, 'DELETE', `/v1/auth/api-keys/${apiKey.id}`, { token: alice.accessToken }),
        404,
      );
      assertError(
        await call(base, 'DELETE', '/v1/auth/api-keys/not-a-uuid', { token: alice.accessToken }),
        404,
      );

      const live = (await make(alice.accessToken, { name: 'live', scopes: ['read'] })).body.key as string;
      const flipped = live.slice(0, -1) + (live.endsWith('A') ? 'B' : 'A');
      const unknown = `wdk_${'0'.repeat(32)}_${live.slice(-43)}`;
      for (const bad of [flipped, unknown, 'wdk_', 'wdk_abc_def', `${live}x`]) {
        assertError(await call(base, 'GET', '/v1/jobs', { token: bad }), 401, 'INVALID_API_KEY');
      }
    });

    it('refuses a bad request to make one', async () => {
      for (const body of [
        { name: 'x', scopes: ['admin'] },
        { name: 'x', scopes: [] },
        { name: 'x', scopes: ['read', 'read'] },
        { name: '', scopes: ['read'] },
        { name: 'a\u0000b', scopes: ['read'] },
        { name: 'x'.repeat(101), scopes: ['read'] },
        { scopes: ['read'] },
        { name: 'x', scopes: ['read'], secret: 'mine' },
      ]) {
        assertError(await make(alice.accessToken, body), 400, 'VALIDATION_ERROR');
      }
      assertError(await make('', { name: 'x', scopes: ['read'] }), 401);
    });
  });
}
