import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameJpegError } from '../../src/media/frame-jpeg.js';
import { createMediaLinks } from '../../src/services/media-links.js';
import {
  bucketedExpiry,
  canonicalTime,
  createThumbnailsService,
  thumbnailSubject,
} from '../../src/services/thumbnails.js';

describe('thumbnail links', () => {
  test('canonicalTime and the signed subject', () => {
    assert.equal(canonicalTime(0), '0');
    assert.equal(canonicalTime(1.5), '1.5');
    assert.equal(canonicalTime(1.23456), '1.235');
    assert.equal(thumbnailSubject('j', 1.5, 160), 'j/thumbnail/1.5/160');
  });
  test('bucketedExpiry: at least the TTL away, stable within a bucket', () => {
    const t0 = Date.UTC(2025, 0, 1, 12, 0, 7);
    const a = bucketedExpiry(t0, 3600);
    assert.ok(a - t0 / 1000 >= 3600 && a - t0 / 1000 < 3600 + 900);
    assert.equal(a % 900, 0);
    assert.equal(bucketedExpiry(t0 + 60_000, 3600), a, 'a minute later: the same expiry');
    assert.equal(bucketedExpiry(t0, 100) % 60, 0, 'buckets are at least a minute');
  });

  const T0 = Date.UTC(2025, 0, 1);
  const links = createMediaLinks({
    secret: 'a-test-secret-of-enough-length',
    ttlSeconds: 600,
    now: () => T0,
  });
  const JOB = '11111111-1111-4111-8111-111111111111';
  function service(render: (file: string, t: number, w: number) => Promise<Buffer>) {
    return createThumbnailsService({
      jobs: {
        getOwned: async (u, id) =>
          u === 'alice' && id === JOB ? ({ id, probe: { durationSec: 10 } } as never) : null,
        getVideoKey: async (id) => (id === JOB ? { key: `videos/${id}`, formatName: 'mp4' } : null),
      },
      pathOf: (k) => `/data/${k}`,
      links,
      render,
      now: () => T0,
      maxConcurrent: 1,
      cacheEntries: 2,
    });
  }
  const query = (url: string) => {
    const u = new URL(url, 'http://x');
    return {
      t: Number(u.searchParams.get('t')),
      width: Number(u.searchParams.get('width')),
      exp: u.searchParams.get('exp') ?? undefined,
      sig: u.searchParams.get('sig') ?? undefined,
    };
  };

  test('renders once per (job, time, width): the cache and in-flight sharing', async () => {
    const calls: string[] = [];
    const svc = service(async (file, t, w) => {
      calls.push(`${file}@${t}/${w}`);
      await new Promise((r) => setTimeout(r, 5));
      return Buffer.from([0xff, 0xd8, t, w]);
    });
    const l = await svc.link('alice', JOB, { t: 2 });
    const [a, b] = await Promise.all([svc.jpeg(JOB, query(l.url)), svc.jpeg(JOB, query(l.url))]);
    assert.ok(a.jpeg.equals(b.jpeg));
    await svc.jpeg(JOB, query(l.url));
    assert.deepEqual(calls, [`/data/videos/${JOB}@2/160`]);
    assert.ok(a.maxAgeSeconds > 0 && a.maxAgeSeconds <= 3600);
  });

  test('no frame there is a 404 FRAME_NOT_FOUND; a failed render is not cached', async () => {
    let fail = true;
    const svc = service(async () => {
      if (fail) throw new FrameJpegError('There is no frame at 9.000 s.');
      return Buffer.from([0xff, 0xd8]);
    });
    const l = await svc.link('alice', JOB, { t: 9 });
    await assert.rejects(svc.jpeg(JOB, query(l.url)), { code: 'FRAME_NOT_FOUND', statusCode: 404 });
    fail = false;
    assert.equal((await svc.jpeg(JOB, query(l.url))).jpeg.length, 2);
  });

  test("links: another user's job is a 404, times past the end a 400", async () => {
    const svc = service(async () => Buffer.alloc(0));
    await assert.rejects(svc.link('bob', JOB, {}), { code: 'JOB_NOT_FOUND' });
    await assert.rejects(svc.link('alice', JOB, { t: 11 }), { code: 'INVALID_QUERY' });
    await assert.rejects(svc.link('alice', JOB, { width: 1000 }), { code: 'INVALID_QUERY' });
  });
});
