// Job thumbnails over real HTTP on the app users run: a real uploaded video, real ffmpeg, the
// signed link's checks, and the JPEG's size and pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';

let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let alice: { accessToken: string };
let bob: { accessToken: string };
let jobId: string;

before(async () => {
  tdb = await createTestDatabase('pglite');
  srv = await startServer(tdb, { MEDIA_URL_TTL_SECONDS: '600' });
  base = srv.url;
  alice = await registerAndLogin(base);
  bob = await registerAndLogin(base);
  const up = await upload(base, alice.accessToken, await smallVideo(2)); // 320x240, 2 s
  assert.equal(up.status, 202, up.text);
  jobId = up.body.job.id;
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
});

/** Width and height from a baseline or progressive JPEG's SOF marker. */
function jpegSize(b: Buffer): { width: number; height: number } {
  assert.ok(b[0] === 0xff && b[1] === 0xd8, 'starts with SOI');
  let i = 2;
  while (i + 9 < b.length) {
    assert.equal(b[i], 0xff, 'a marker');
    const marker = b[i + 1];
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2)
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

async function link(q = '', token = alice.accessToken, id = jobId) {
  return call(base, 'GET', `/v1/jobs/${id}/thumbnail-url${q}`, { token });
}

describe('job thumbnails', () => {
  test('the owner gets a signed link; the JPEG is the asked width, keeping the aspect ratio', async () => {
    const res = await link();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(
      res.body.url,
      new RegExp(`^/v1/media/${jobId}/thumbnail\\?t=0&width=160&exp=\\d+&sig=[\\w-]{43}$`),
    );
    assert.ok(Date.parse(res.body.expiresAt) - Date.now() >= 600_000 - 2000, 'lives at least the TTL');
    // the same thumbnail keeps its URL (the expiry is bucketed), so the browser cache can answer
    assert.equal((await link()).body.url, res.body.url);

    const img = await fetch(base + res.body.url);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/jpeg');
    assert.match(img.headers.get('cache-control') ?? '', /^private, max-age=\d+, immutable$/);
    const jpeg = Buffer.from(await img.arrayBuffer());
    assert.deepEqual(jpegSize(jpeg), { width: 160, height: 120 });

    const wide = await link('?t=1.5&width=320');
    const big = Buffer.from(await (await fetch(base + wide.body.url)).arrayBuffer());
    assert.deepEqual(jpegSize(big), { width: 320, height: 240 });
    // testsrc2 moves: another time is another picture
    const again = await link('?t=1.5&width=160');
    const later = Buffer.from(await (await fetch(base + again.body.url)).arrayBuffer());
    assert.ok(!later.equals(jpeg), 'the frame at 1.5 s differs from the first frame');
  });

  test("another user's job and an unknown job are 404; no token is 401", async () => {
    assertError(await link('', bob.accessToken), 404, 'JOB_NOT_FOUND');
    assertError(
      await link('', alice.accessToken, '00000000-0000-4000-8000-000000000000'),
      404,
      'JOB_NOT_FOUND',
    );
    assertError(await call(base, 'GET', `/v1/jobs/${jobId}/thumbnail-url`), 401);
  });

  test('bad queries are 400 with a sentence', async () => {
    assertError(await link('?width=2000'), 400, 'VALIDATION_ERROR');
    assertError(await link('?width=8'), 400, 'VALIDATION_ERROR');
    assertError(await link('?t=-1'), 400, 'VALIDATION_ERROR');
    assertError(await link('?t=30'), 400, 'INVALID_QUERY'); // past the end of a 2 s video
    assertError(await link('?size=3'), 400, 'VALIDATION_ERROR');
  });

  test('a link opens only its own thumbnail: tampering with t, width, the job or sig is 403', async () => {
    const { url } = (await link('?t=0.5&width=160')).body as { url: string };
    const u = new URL(base + url);
    const tamper = async (k: string, v: string) => {
      const t = new URL(u);
      t.searchParams.set(k, v);
      return call(base, 'GET', t.pathname + t.search);
    };
    assertError(await tamper('t', '1'), 403, 'INVALID_MEDIA_LINK');
    assertError(await tamper('width', '320'), 403, 'INVALID_MEDIA_LINK');
    assertError(await tamper('sig', 'A'.repeat(43)), 403, 'INVALID_MEDIA_LINK');
    assertError(
      await tamper('exp', String(Number(u.searchParams.get('exp')) + 60)),
      403,
      'INVALID_MEDIA_LINK',
    );
    assertError(await tamper('exp', '1000'), 403, 'MEDIA_LINK_EXPIRED');
    const { body: other } = await upload(base, bob.accessToken, await smallVideo(2));
    assertError(
      await call(base, 'GET', u.pathname.replace(jobId, other.job.id) + u.search),
      403,
      'INVALID_MEDIA_LINK',
    );
    // a thumbnail's signature does not open the video
    assertError(
      await call(
        base,
        'GET',
        `/v1/media/${jobId}?exp=${u.searchParams.get('exp')}&sig=${u.searchParams.get('sig')}`,
      ),
      403,
    );
    assertError(await call(base, 'GET', `/v1/media/${jobId}/thumbnail`), 403, 'INVALID_MEDIA_LINK');
  });

  test('a deleted job: its link is a 404', async () => {
    const up = await upload(base, alice.accessToken, await smallVideo(2));
    const { url } = (await link('', alice.accessToken, up.body.job.id)).body as { url: string };
    assert.equal(
      (await call(base, 'DELETE', `/v1/jobs/${up.body.job.id}`, { token: alice.accessToken })).status,
      204,
    );
    assertError(await call(base, 'GET', url), 404, 'JOB_NOT_FOUND');
  });
});
