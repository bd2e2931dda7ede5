/**
 * What scripts sharing a server need from POST /v1/jobs (issue 10, items 2 and 5): a client
 * `tag`, `Idempotency-Key` (a retry returns the first job; a reused key with another request is a
 * 422; two at once make one job), the per-user storage quota (413 from the declared size before
 * reading, and from the real size after), and retention (expiresAt, and the sweep that deletes).
 * On PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertError, call, type Res, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import {
  createTestDatabase,
  DB_KINDS,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

const withKey = (
  base: string,
  token: string,
  file: string,
  key: string,
  fields: Record<string, string> = {},
) => uploadWithHeaders(base, token, file, fields, { 'idempotency-key': key });

/** POST /v1/jobs with extra headers (the shared helper sends none). */
async function uploadWithHeaders(
  base: string,
  token: string,
  file: string,
  fields: Record<string, string>,
  headers: Record<string, string>,
): Promise<Res> {
  const { openAsBlob } = await import('node:fs');
  const form = new FormData();
  form.append('video', await openAsBlob(file), 'video.mp4');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return call(base, 'POST', '/v1/jobs', { token, body: form, headers });
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

for (const kind of DB_KINDS) {
  describe(`jobs for scripts (${kind})`, () => {
    let tdb: TestDatabase;
    let srv: TestServer;
    let base: string;
    let video: string;
    let other: string;
    let videoBytes: number;
    const queue = recordingQueue();
    const countJobs = async (userId: string) =>
      (await tdb.handle.db.selectFrom('jobs').select('id').where('user_id', '=', userId).execute()).length;

    before(async () => {
      video = await smallVideo(2);
      other = await smallVideo(3);
      videoBytes = statSync(video).size;
      tdb = await createTestDatabase(kind);
      srv = await startServer(tdb, { RETENTION_DAYS: '1' }, { queue });
      base = srv.url;
    });
    after(async () => {
      await srv?.close();
      await tdb?.drop();
    });

    describe('tag', () => {
      it('is echoed on the job, trimmed; blank is null', async () => {
        const { accessToken } = await registerAndLogin(base);
        const res = await upload(base, accessToken, video, { tag: '  order 42 / camera ü  ' });
        assert.equal(res.status, 202, res.text);
        assert.equal(res.body.job.tag, 'order 42 / camera ü');
        const got = await call(base, 'GET', `/v1/jobs/${res.body.job.id}`, { token: accessToken });
        assert.equal(got.body.job.tag, 'order 42 / camera ü');
        assert.equal((await upload(base, accessToken, video, { tag: ' ' })).body.job.tag, null);
        assert.equal((await upload(base, accessToken, video)).body.job.tag, null);
      });
      it('refuses a long, repeated or unprintable tag with a sentence', async () => {
        const { accessToken } = await registerAndLogin(base);
        for (const [fields, about] of [
          [{ tag: 'x'.repeat(101) }, /at most 100 characters/],
          [{ tag: 'a\u0007b' }, /printable/],
          [{ tag: 'a\u202eb' }, /printable/],
        ] as const) {
          const res = await upload(base, accessToken, video, fields);
          assertError(res, 400, 'INVALID_OPTION');
          assert.match(res.body.error.message, about);
        }
        const twice = await upload(base, accessToken, video, { tag: ['a', 'b'] });
        assertError(twice, 400, 'INVALID_OPTION');
        assert.equal(
          await countJobs((await call(base, 'GET', '/v1/auth/me', { token: accessToken })).body.user.id),
          0,
        );
      });
    });

    describe('Idempotency-Key', () => {
      it('a retry within 24 h returns the first job (200, Idempotent-Replayed) and stores nothing new', async () => {
        const u = await registerAndLogin(base);
        const first = await withKey(base, u.accessToken, video, 'order-42', { fps: '2', tag: 't' });
        assert.equal(first.status, 202, first.text);
        const videosBefore = files(join(srv.storage.root, 'videos')).length;
        const again = await withKey(base, u.accessToken, video, 'order-42', { fps: '2', tag: 't' });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.headers.get('idempotent-replayed'), 'true');
        assert.equal(again.body.job.id, first.body.job.id);
        assert.equal(await countJobs(u.userId), 1);
        assert.equal(files(join(srv.storage.root, 'videos')).length, videosBefore, 'no second video');
        assert.deepEqual(files(join(srv.storage.root, 'tmp')), [], 'no temp file left');
        const submitted = queue.enqueued.filter(
          (t) => (t.payload as { jobId: string }).jobId === first.body.job.id,
        );
        assert.equal(submitted.length, 1, 'the pipeline was told once');
      });

      it('the same key with another request is a 422 with a sentence; another user may use the same key', async () => {
        const u = await registerAndLogin(base);
        assert.equal((await withKey(base, u.accessToken, video, 'k-1', { fps: '2' })).status, 202);
        for (const [file, fields] of [
          [video, { fps: '3' }],
          [other, { fps: '2' }],
          [video, { fps: '2', tag: 'x' }],
        ] as const) {
          const res = await withKey(base, u.accessToken, file, 'k-1', fields);
          assertError(res, 422, 'IDEMPOTENCY_KEY_REUSED');
          assert.match(res.body.error.message, /already used with a different request/);
        }
        const v = await registerAndLogin(base);
        assert.equal((await withKey(base, v.accessToken, video, 'k-1', { fps: '3' })).status, 202);
        assert.equal(await countJobs(u.userId), 1);
      });

      it('two concurrent requests with one key make one job', async () => {
        const u = await registerAndLogin(base);
        const results = await Promise.all(
          Array.from({ length: 4 }, () => withKey(base, u.accessToken, video, 'race')),
        );
        const statuses = results.map((r) => r.status).sort();
        assert.equal(statuses.filter((s) => s === 202).length, 1, `statuses ${statuses}`);
        assert.ok(
          statuses.every((s) => s === 202 || s === 200 || s === 409),
          `statuses ${statuses}`,
        );
        const ids = new Set(results.filter((r) => r.status < 300).map((r) => r.body.job.id));
        assert.equal(ids.size, 1, 'every success names the same job');
        for (const r of results.filter((x) => x.status === 409))
          assertError(r, 409, 'IDEMPOTENCY_KEY_IN_USE');
        assert.equal(await countJobs(u.userId), 1);
      });

      it('a failed request frees its key; an expired key (over 24 h) makes a new job', async () => {
        const u = await registerAndLogin(base);
        assertError(await withKey(base, u.accessToken, video, 'k-2', { fps: 'fast' }), 400, 'INVALID_OPTION');
        const made = await withKey(base, u.accessToken, video, 'k-2', { fps: '1' });
        assert.equal(made.status, 202, 'the key was not taken by the refused request');
        await tdb.handle.db
          .updateTable('idempotency_keys')
          .set({ created_at: new Date(Date.now() - 25 * 3600_000) })
          .where('user_id', '=', u.userId)
          .execute();
        const later = await withKey(base, u.accessToken, video, 'k-2', { fps: '5' });
        assert.equal(later.status, 202, later.text);
        assert.notEqual(later.body.job.id, made.body.job.id);
        // the sweep removes expired keys (the one just made stays)
        await tdb.handle.db
          .updateTable('idempotency_keys')
          .set({ created_at: new Date(Date.now() - 25 * 3600_000) })
          .where('key', '=', 'k-2')
          .where('user_id', '=', u.userId)
          .execute();
        assert.ok((await srv.rt.services.housekeeping.runOnce()).idempotencyKeys >= 1);
      });

      it('a malformed key is a 400', async () => {
        const u = await registerAndLogin(base);
        for (const key of ['has space', 'x'.repeat(256), 'ü']) {
          const res = await uploadWithHeaders(base, u.accessToken, video, {}, { 'idempotency-key': key });
          assertError(res, 400, 'VALIDATION_ERROR');
        }
      });
    });

    describe('USER_STORAGE_BYTES', () => {
      let q: TestServer;
      before(async () => {
        // room for one small video and a half
        q = await startServer(
          tdb,
          { USER_STORAGE_BYTES: String(Math.floor(videoBytes * 1.5)) },
          { queue: recordingQueue() },
        );
      });
      after(async () => {
        await q?.close();
      });

      it('the upload that would exceed it is a 413 with a sentence and leaves nothing; deleting makes room', async () => {
        const u = await registerAndLogin(q.url);
        const first = await upload(q.url, u.accessToken, video);
        assert.equal(first.status, 202, first.text);
        const over = await upload(q.url, u.accessToken, video);
        assertError(over, 413, 'STORAGE_QUOTA_EXCEEDED');
        assert.match(
          over.body.error.message,
          new RegExp(`over your quota of ${Math.floor(videoBytes * 1.5)} bytes`),
        );
        assert.equal(await countJobs(u.userId), 1);
        assert.deepEqual(files(join(q.storage.root, 'tmp')), []);
        // another user has a quota of their own
        assert.equal((await upload(q.url, (await registerAndLogin(q.url)).accessToken, video)).status, 202);
        assert.equal(
          (await call(q.url, 'DELETE', `/v1/jobs/${first.body.job.id}`, { token: u.accessToken })).status,
          204,
        );
        assert.equal((await upload(q.url, u.accessToken, video)).status, 202);
      });

      it('two concurrent uploads that fit only one at a time: exactly one gets in', async () => {
        const u = await registerAndLogin(q.url);
        const results = await Promise.all([
          upload(q.url, u.accessToken, video),
          upload(q.url, u.accessToken, video),
        ]);
        assert.deepEqual(results.map((r) => r.status).sort(), [202, 413]);
        assert.equal(await countJobs(u.userId), 1);
      });

      it('a declared Content-Length over the quota is refused before the body is read', async () => {
        const u = await registerAndLogin(q.url);
        const { hostname, port } = new URL(q.url);
        const res = await new Promise<{ status?: number; body: string; connection?: string }>(
          (resolve, reject) => {
            const req = httpRequest(
              {
                host: hostname,
                port,
                method: 'POST',
                path: '/v1/jobs',
                headers: {
                  authorization: `Bearer ${u.accessToken}`,
                  'content-type': 'multipart/form-data; boundary=x',
                  'content-length': String(50 * 1024 * 1024), // 50 MiB declared, a few bytes sent
                },
              },
              (r) => {
                let body = '';
                r.on('data', (d) => {
                  body += d;
                });
                r.on('end', () => resolve({ status: r.statusCode, body, connection: r.headers.connection }));
              },
            );
            req.on('error', reject);
            req.write('--x\r\n');
          },
        );
        assert.equal(res.status, 413, res.body);
        assert.equal(JSON.parse(res.body).error.code, 'STORAGE_QUOTA_EXCEEDED');
        assert.equal(res.connection, 'close');
      });
    });

    describe('RETENTION_DAYS', () => {
      it('a finished job shows when it expires; the sweep deletes expired jobs with their video and rows', async () => {
        const u = await registerAndLogin(base);
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const up = await upload(base, u.accessToken, video);
          assert.equal(up.status, 202, up.text);
          ids.push(up.body.job.id);
        }
        const [old, recent, running] = ids;
        const finishedAt = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3600_000);
        await tdb.handle.db
          .updateTable('jobs')
          .set({ status: 'completed', finished_at: finishedAt(30) })
          .where('id', '=', old)
          .execute();
        await tdb.handle.db
          .updateTable('jobs')
          .set({ status: 'failed', finished_at: finishedAt(1) })
          .where('id', '=', recent)
          .execute();
        await tdb.handle.db
          .insertInto('frames')
          .values({ job_id: old, frame_index: 0, timestamp: 0, detections: '[]' })
          .execute();

        const view = async (id: string) =>
          (await call(base, 'GET', `/v1/jobs/${id}`, { token: u.accessToken })).body.job;
        const r = await view(recent);
        assert.equal(Date.parse(r.expiresAt) - Date.parse(r.finishedAt), 24 * 3600_000);
        assert.equal((await view(running)).expiresAt, null, 'an unfinished job does not expire');

        const swept = await srv.rt.services.housekeeping.runOnce();
        assert.ok(swept.jobs >= 1, JSON.stringify(swept));
        assertError(
          await call(base, 'GET', `/v1/jobs/${old}`, { token: u.accessToken }),
          404,
          'JOB_NOT_FOUND',
        );
        assert.equal(await srv.storage.stat(`videos/${old}`), null, 'its video is gone');
        const frames = await tdb.handle.db
          .selectFrom('frames')
          .select('job_id')
          .where('job_id', '=', old)
          .execute();
        assert.equal(frames.length, 0);
        assert.equal((await view(recent)).status, 'failed', 'a job within its days stays');
        assert.ok(await srv.storage.stat(`videos/${recent}`));
        assert.equal((await view(running)).status, 'queued');
        assert.equal((await srv.rt.services.housekeeping.runOnce()).jobs, 0, 'a second sweep finds nothing');
      });
    });
  });
}
