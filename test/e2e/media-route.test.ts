// The media routes over real HTTP on the app users run: a real uploaded video, its signed link,
// HTTP Range against the stored file's bytes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { deriveKey } from '../../src/runtime.js';
import { createMediaLinks } from '../../src/services/media-links.js';
import { registerAndLogin, upload } from '../helpers/http.js';
import { smallVideo } from '../helpers/media.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../helpers/server.js';

let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let alice: { accessToken: string };
let bob: { accessToken: string };
let jobId: string;
let content: Buffer;
let SIZE: number;

before(async () => {
  tdb = await createTestDatabase('pglite');
  srv = await startServer(tdb, { MEDIA_URL_TTL_SECONDS: '300' });
  base = srv.url;
  alice = await registerAndLogin(base);
  bob = await registerAndLogin(base);
  const video = await smallVideo(2);
  const up = await upload(base, alice.accessToken, video);
  assert.equal(up.status, 202, up.text);
  jobId = up.body.job.id;
  content = await readFile(srv.storage.path(`videos/${jobId}`));
  SIZE = content.length;
  assert.ok(SIZE > 2000, 'the stored video has some size');
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
});

async function signedUrl(id = jobId, token = alice.accessToken): Promise<string> {
  const res = await fetch(`${base}/v1/jobs/${id}/video-url`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string; expiresAt: string };
  assert.match(body.url, new RegExp(`^/v1/media/${id}\\?exp=\\d+&sig=[\\w-]{43}$`));
  assert.ok(Date.parse(body.expiresAt) > Date.now());
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return base + body.url;
}

describe('GET /v1/jobs/:id/video-url', () => {
  test('401 without a user, 404 for another user or an unknown job', async () => {
    let res = await fetch(`${base}/v1/jobs/${jobId}/video-url`);
    assert.equal(res.status, 401);
    res = await fetch(`${base}/v1/jobs/${jobId}/video-url`, {
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'JOB_NOT_FOUND');
    res = await fetch(`${base}/v1/jobs/nope/video-url`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    assert.equal(res.status, 404);
  });
});

describe('GET /v1/media/:id', () => {
  const get = (url: string, range?: string) => fetch(url, { headers: range ? { range } : {} });

  test('200 with the whole file when there is no Range', async () => {
    const res = await get(await signedUrl());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('content-length'), String(SIZE));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
  });

  test('206 with exactly the requested bytes, for every kind of range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-1', 0, 1], // first bytes (what Chrome probes with)
      ['bytes=0-1023', 0, 1023],
      ['bytes=500-1999', 500, 1999], // middle
      ['bytes=-500', SIZE - 500, SIZE - 1], // suffix
      [`bytes=${SIZE - 100}-`, SIZE - 100, SIZE - 1], // open end
      ['bytes=0-', 0, SIZE - 1],
      [`bytes=${SIZE - 10}-${SIZE + 999_999}`, SIZE - 10, SIZE - 1], // end past the file: clamped
    ];
    const url = await signedUrl();
    for (const [range, start, end] of cases) {
      const res = await get(url, range);
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${SIZE}`, range);
      assert.equal(res.headers.get('content-length'), String(end - start + 1), range);
      assert.equal(res.headers.get('accept-ranges'), 'bytes', range);
      const got = Buffer.from(await res.arrayBuffer());
      assert.ok(got.equals(content.subarray(start, end + 1)), `${range}: bytes match the file`);
    }
  });

  test('416 for an unsatisfiable range', async () => {
    const res = await get(await signedUrl(), `bytes=${SIZE}-`);
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), `bytes */${SIZE}`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RANGE_NOT_SATISFIABLE');
  });

  test('403 for a bad, missing or other-job signature', async () => {
    const url = new URL(await signedUrl());
    const sig = url.searchParams.get('sig') ?? '';
    const forged = new URL(url);
    forged.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const otherJob = '00000000-0000-4000-8000-000000000000';
    for (const u of [
      forged.toString(),
      `${base}/v1/media/${jobId}`,
      `${base}/v1/media/${jobId}?exp=${url.searchParams.get('exp')}`,
      `${base}/v1/media/${otherJob}?${url.searchParams}`,
    ]) {
      const res = await get(u, 'bytes=0-1');
      assert.equal(res.status, 403, u);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'INVALID_MEDIA_LINK');
      assert.ok(body.error.message.length > 0);
    }
  });

  test('403 for an expired link (signed with the server key, expired a minute ago)', async () => {
    const past = createMediaLinks({
      secret: deriveKey(srv.config.jwtSecret, 'media-links'),
      ttlSeconds: 60,
      now: () => Date.now() - 120_000,
    });
    const res = await get(base + past.create(jobId).url);
    assert.equal(res.status, 403);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'MEDIA_LINK_EXPIRED');
  });

  test('404 when the stored file is gone', async () => {
    const up = await upload(base, alice.accessToken, await smallVideo(2));
    const id = up.body.job.id as string;
    const url = await signedUrl(id);
    await srv.storage.remove(`videos/${id}`);
    const res = await get(url);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'VIDEO_NOT_FOUND');
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await fetch(await signedUrl(), { method: 'HEAD', headers: { range: 'bytes=10-19' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 10-19/${SIZE}`);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});
