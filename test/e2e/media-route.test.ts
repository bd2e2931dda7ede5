// The media routes over real HTTP, on a small Fastify app built here with a real file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { mediaRoutes } from '../../src/http/routes/media.js';
import { createMediaLinks } from '../../src/services/media-links.js';

const SIZE = 100_003;
const content = randomBytes(SIZE);
let dir: string;
let app: FastifyInstance;
let base: string;
let clock = Date.now();
const links = createMediaLinks({
  secret: 'integration-test-secret-0123456789',
  ttlSeconds: 300,
  now: () => clock,
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-route-'));
  await writeFile(join(dir, 'video-1.mp4'), content);
  app = Fastify();
  // stands in for the auth plugin: "Bearer user-<id>" sets request.user
  app.addHook('onRequest', async (request) => {
    const m = /^Bearer user-(\w+)$/.exec(request.headers.authorization ?? '');
    if (m) (request as unknown as { user: { id: string } }).user = { id: m[1] };
  });
  const owned: Record<string, string> = { 'job-1': 'alice', 'job-gone': 'alice' };
  await app.register(mediaRoutes, {
    links,
    jobs: {
      getOwned: async (userId, jobId) => (owned[jobId] === userId ? { videoKey: `${jobId}.mp4` } : null),
      getVideoKey: async (jobId) =>
        jobId === 'job-1' ? 'video-1.mp4' : jobId === 'job-gone' ? 'missing.mp4' : null,
    },
    storage: { path: (key) => join(dir, key) },
  });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function signedUrl(): Promise<string> {
  const res = await fetch(`${base}/v1/jobs/job-1/video-url`, {
    headers: { authorization: 'Bearer user-alice' },
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string; expiresAt: string };
  assert.match(body.url, /^\/v1\/media\/job-1\?exp=\d+&sig=[\w-]{43}$/);
  assert.ok(Date.parse(body.expiresAt) > clock);
  return base + body.url;
}

describe('GET /v1/jobs/:id/video-url', () => {
  test('401 without a user, 404 for another user or an unknown job', async () => {
    let res = await fetch(`${base}/v1/jobs/job-1/video-url`);
    assert.equal(res.status, 401);
    res = await fetch(`${base}/v1/jobs/job-1/video-url`, { headers: { authorization: 'Bearer user-bob' } });
    assert.equal(res.status, 404);
    assert.deepEqual(((await res.json()) as { error: { code: string } }).error.code, 'JOB_NOT_FOUND');
    res = await fetch(`${base}/v1/jobs/nope/video-url`, { headers: { authorization: 'Bearer user-alice' } });
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
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
  });

  const cases: [string, number, number][] = [
    ['bytes=0-1', 0, 1], // first bytes (what Chrome probes with)
    ['bytes=0-1023', 0, 1023],
    ['bytes=5000-69999', 5000, 69999], // middle
    ['bytes=-500', SIZE - 500, SIZE - 1], // suffix
    ['bytes=99000-', 99000, SIZE - 1], // open end
    ['bytes=0-', 0, SIZE - 1],
    ['bytes=100000-999999', 100000, SIZE - 1], // end past the file: clamped
  ];
  for (const [range, start, end] of cases) {
    test(`206 for ${range}`, async () => {
      const res = await get(await signedUrl(), range);
      assert.equal(res.status, 206);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${SIZE}`);
      assert.equal(res.headers.get('content-length'), String(end - start + 1));
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      const got = Buffer.from(await res.arrayBuffer());
      assert.ok(got.equals(content.subarray(start, end + 1)), 'bytes match the file');
    });
  }

  test('416 for an unsatisfiable range', async () => {
    const res = await get(await signedUrl(), `bytes=${SIZE}-`);
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), `bytes */${SIZE}`);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'RANGE_NOT_SATISFIABLE');
  });

  test('403 for a bad, missing or other-job signature', async () => {
    const url = new URL(await signedUrl());
    const sig = url.searchParams.get('sig')!;
    const forged = new URL(url);
    forged.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    for (const u of [
      forged.toString(),
      `${base}/v1/media/job-1`,
      `${base}/v1/media/job-1?exp=${url.searchParams.get('exp')}`,
      `${base}/v1/media/job-2?${url.searchParams}`,
    ]) {
      const res = await get(u, 'bytes=0-1');
      assert.equal(res.status, 403, u);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'INVALID_MEDIA_LINK');
      assert.ok(body.error.message.length > 0);
    }
  });

  test('403 for an expired link', async () => {
    const url = await signedUrl();
    const saved = clock;
    clock += 301_000;
    try {
      const res = await get(url);
      assert.equal(res.status, 403);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'MEDIA_LINK_EXPIRED');
    } finally {
      clock = saved;
    }
  });

  test('404 when the stored file is gone', async () => {
    const { url } = links.create('job-gone');
    const res = await get(base + url);
    assert.equal(res.status, 404);
  });

  test('HEAD answers the headers without a body', async () => {
    const res = await fetch(await signedUrl(), { method: 'HEAD', headers: { range: 'bytes=10-19' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 10-19/${SIZE}`);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});
