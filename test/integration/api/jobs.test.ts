import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { faststartVideo, pngImage, smallVideo, truncatedCopy } from '../../helpers/media.js';
import {
  createTestDatabase,
  DB_KINDS,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

/** Every file under DATA_DIR/storage (videos/ and tmp/). */
function storedFiles(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name));
  } catch {
    return [];
  }
}

for (const kind of DB_KINDS) {
  describe(`jobs API (${kind})`, () => {
    let tdb: TestDatabase;
    let srv: TestServer;
    let base: string;
    let video: string;
    let alice: Awaited<ReturnType<typeof registerAndLogin>>;
    let bob: Awaited<ReturnType<typeof registerAndLogin>>;
    // records the tasks the service queues (no worker runs them: jobs stay queued)
    const queue = recordingQueue();
    const submitted = (id: string) =>
      queue.enqueued.some((t) => t.name === 'process' && (t.payload as { jobId: string }).jobId === id);

    before(async () => {
      video = await smallVideo(2);
      tdb = await createTestDatabase(kind);
      srv = await startServer(
        tdb,
        { MAX_UPLOAD_BYTES: String(1024 * 1024), MAX_VIDEO_SECONDS: '5' },
        { queue },
      );
      base = srv.url;
      alice = await registerAndLogin(base);
      bob = await registerAndLogin(base);
    });
    after(async () => {
      await srv?.close();
      await tdb?.drop();
    });

    /** After a rejected upload: no file under storage except the videos of `keep` jobs, no new row. */
    async function assertNothingLeft(jobsBefore: number) {
      const files = storedFiles(srv.storage.root).filter((f) => !f.includes(`${join('storage', 'videos')}`));
      assert.deepEqual(files, [], 'no temp files left');
      const list = await call(base, 'GET', '/v1/jobs?limit=100', { token: alice.accessToken });
      assert.equal(list.body.jobs.length, jobsBefore, 'no job row left');
      const videos = storedFiles(join(srv.storage.root, 'videos'));
      assert.equal(videos.length, await countAllJobs(), 'one video per job row');
      assert.equal((await call(base, 'GET', '/healthz')).status, 200, 'server still answers');
    }
    async function countAllJobs() {
      const c = await srv.repos.jobs.countByStatus();
      return Object.values(c).reduce((a, b) => a + b, 0);
    }
    async function aliceJobCount() {
      return (await call(base, 'GET', '/v1/jobs?limit=100', { token: alice.accessToken })).body.jobs
        .length as number;
    }

    it('creates a job: 202, Location, Job JSON, file stored, pipeline told', async () => {
      const res = await upload(base, alice.accessToken, video, {
        fps: '2',
        minScore: '0.5',
        labels: 'person, car',
        model: 'centernet',
      });
      assert.equal(res.status, 202, res.text);
      const job = res.body.job;
      assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
      assert.equal(job.status, 'queued');
      assert.equal(job.video.originalName, 'video.mp4');
      assert.match(job.video.sha256, /^[0-9a-f]{64}$/);
      assert.ok(job.video.sizeBytes > 0);
      assert.equal(job.video.probe.video.width, 320);
      assert.equal(job.video.probe.video.height, 240);
      assert.ok(Math.abs(job.video.probe.durationSec - 2) < 0.2);
      assert.deepEqual(job.options, {
        fps: 2,
        minScore: 0.5,
        labels: ['person', 'car'],
        model: 'centernet',
        callbackUrl: null,
      });
      assert.deepEqual(job.progress, {
        chunksDone: 0,
        chunksTotal: 0,
        framesDone: 0,
        framesTotal: 0,
        framesSkipped: 0,
        percent: 0,
      });
      assert.deepEqual(job.links, {
        self: `/v1/jobs/${job.id}`,
        detections: `/v1/jobs/${job.id}/detections`,
        events: `/v1/jobs/${job.id}/events`,
      });
      assert.equal(job.error, null);
      assert.equal(job.summary, null);
      assert.equal(job.startedAt, null);
      assert.ok(submitted(job.id));
      const stat = await srv.storage.stat(`videos/${job.id}`);
      assert.equal(stat?.size, job.video.sizeBytes);
      const got = await call(base, 'GET', `/v1/jobs/${job.id}`, { token: alice.accessToken });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.job, job);
    });

    it('accepts option fields before the file, repeated labels, defaults', async () => {
      const res = await upload(
        base,
        alice.accessToken,
        video,
        { labels: ['dog', 'cat,dog'] },
        { fieldsFirst: true },
      );
      assert.equal(res.status, 202, res.text);
      assert.deepEqual(res.body.job.options, {
        fps: null,
        minScore: 0.25,
        labels: ['dog', 'cat'],
        model: 'centernet',
        callbackUrl: null,
      });
    });

    it('stores a hostile filename sanitised and keeps the file under storage', async () => {
      const res = await upload(
        base,
        alice.accessToken,
        video,
        {},
        { filename: '../../etc/pass\u0000wd\u0007.mp4' },
      );
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.job.video.originalName, 'passwd.mp4');
      assert.ok(await srv.storage.stat(`videos/${res.body.job.id}`));
      for (const f of storedFiles(tdb.dataDir)) assert.ok(f.startsWith(tdb.dataDir));
    });

    it('keeps a unicode/SQL-like filename verbatim', async () => {
      const name = "it's; drop table jobs; -- ünï.mp4";
      const res = await upload(base, alice.accessToken, video, {}, { filename: name });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.job.video.originalName, name);
    });

    describe('rejected uploads leave nothing behind', () => {
      const bad: [
        string,
        () => Promise<{
          file: string | Blob | null;
          fields?: Record<string, string | string[]>;
          filename?: string;
          fieldName?: string;
        }>,
        number,
        string,
      ][] = [
        ['empty file', async () => ({ file: new Blob([]) }), 400, 'EMPTY_UPLOAD'],
        ['no file at all', async () => ({ file: null, fields: { fps: '1' } }), 400, 'EMPTY_UPLOAD'],
        [
          'a text file named .mp4',
          async () => ({ file: new Blob(['hello, this is not a video\n'.repeat(100)]) }),
          415,
          'NOT_A_VIDEO',
        ],
        ['a PNG', async () => ({ file: await pngImage(), filename: 'image.mp4' }), 415, 'NOT_A_VIDEO'],
        [
          'a truncated MP4 (moov at the end is cut off)',
          async () => ({ file: truncatedCopy(await smallVideo(2), 'half.mp4') }),
          415,
          'NOT_A_VIDEO',
        ],
        [
          'a file over MAX_UPLOAD_BYTES',
          async () => ({ file: new Blob([new Uint8Array(1536 * 1024).fill(7)]) }),
          413,
          'UPLOAD_TOO_LARGE',
        ],
        [
          'a video longer than MAX_VIDEO_SECONDS',
          async () => ({ file: await smallVideo(7) }),
          422,
          'VIDEO_TOO_LONG',
        ],
        ['fps not a number', async () => ({ file: video, fields: { fps: 'fast' } }), 400, 'INVALID_OPTION'],
        ['fps 0', async () => ({ file: video, fields: { fps: '0' } }), 400, 'INVALID_OPTION'],
        ['fps 121', async () => ({ file: video, fields: { fps: '121' } }), 400, 'INVALID_OPTION'],
        ['minScore 1.5', async () => ({ file: video, fields: { minScore: '1.5' } }), 400, 'INVALID_OPTION'],
        ['unknown model', async () => ({ file: video, fields: { model: 'nope' } }), 400, 'INVALID_OPTION'],
        [
          'a label the model lacks',
          async () => ({ file: video, fields: { labels: 'person, unicorn' } }),
          400,
          'INVALID_OPTION',
        ],
        [
          'callbackUrl ftp',
          async () => ({ file: video, fields: { callbackUrl: 'ftp://example.com/x' } }),
          400,
          'INVALID_OPTION',
        ],
        [
          'callbackUrl to localhost',
          async () => ({ file: video, fields: { callbackUrl: 'http://127.0.0.1:9/x' } }),
          400,
          'INVALID_OPTION',
        ],
        ...['http://[::ffff:127.0.0.1]:9/x', 'http://[64:ff9b::7f00:1]/x', 'http://localhost./x'].map(
          (callbackUrl) =>
            [
              `callbackUrl ${callbackUrl}`,
              async () => ({ file: video, fields: { callbackUrl } }),
              400,
              'INVALID_OPTION',
            ] as (typeof bad)[number],
        ),
        ['unknown field', async () => ({ file: video, fields: { color: 'red' } }), 400, 'INVALID_OPTION'],
        ['fps twice', async () => ({ file: video, fields: { fps: ['1', '2'] } }), 400, 'INVALID_OPTION'],
        ['file in another field', async () => ({ file: video, fieldName: 'movie' }), 400, 'INVALID_OPTION'],
      ];
      for (const [name, make, status, code] of bad) {
        it(`${name} → ${status} ${code}`, async () => {
          const before = await aliceJobCount();
          const b = await make();
          const res = await upload(base, alice.accessToken, b.file, b.fields, {
            filename: b.filename,
            fieldName: b.fieldName,
          });
          assertError(res, status, code);
          await assertNothingLeft(before);
        });
      }
      it('a chunked upload (no Content-Length) over MAX_UPLOAD_BYTES → 413, cut off while streaming', async () => {
        const before = await aliceJobCount();
        const boundary = 'wdtestboundary';
        const head = `--${boundary}\r\ncontent-disposition: form-data; name="video"; filename="big.mp4"\r\ncontent-type: video/mp4\r\n\r\n`;
        const chunk = new Uint8Array(256 * 1024).fill(7);
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 0) controller.enqueue(new TextEncoder().encode(head));
            if (sent < 8) {
              controller.enqueue(chunk); // 2 MiB in all, twice the limit
              sent += 1;
            } else {
              controller.enqueue(new TextEncoder().encode(`\r\n--${boundary}--\r\n`));
              controller.close();
            }
          },
        });
        const res = await call(base, 'POST', '/v1/jobs', {
          token: alice.accessToken,
          body,
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        });
        assertError(res, 413, 'UPLOAD_TOO_LARGE');
        await assertNothingLeft(before);
      });
      it('the field name is in the sentence', async () => {
        const res = await upload(base, alice.accessToken, video, { minScore: '2' });
        assert.match(res.body.error.message, /minScore/);
      });
      it("labels the model lacks are named in the sentence, with the model's closest label", async () => {
        const res = await upload(base, alice.accessToken, video, { labels: 'persn, car, unicorn' });
        assertError(res, 400, 'INVALID_OPTION');
        assert.equal(
          res.body.error.message,
          'labels: "persn" and "unicorn" are not labels of model centernet (did you mean "person" for "persn"?); GET /v1/models lists its labels.',
        );
        // labels are the model's names exactly: a different case is refused too, with the hint
        const cased = await upload(base, alice.accessToken, video, { labels: 'Person' });
        assertError(cased, 400, 'INVALID_OPTION');
        assert.match(
          cased.body.error.message,
          /"Person" is not a label of model centernet \(did you mean "person"\?\)/,
        );
      });
      it('not multipart → 415', async () => {
        assertError(
          await call(base, 'POST', '/v1/jobs', { token: alice.accessToken, json: { video: 'x' } }),
          415,
        );
      });
      it('without a token → 401', async () => {
        assertError(await upload(base, '', video), 401);
      });
    });

    it("a truncated MP4 with moov first: ffprobe accepts it (decode errors are the pipeline's to report)", async () => {
      const half = truncatedCopy(await faststartVideo(2), 'half-faststart.mp4');
      const res = await upload(base, alice.accessToken, half);
      // ffprobe reads the header of a faststart MP4 and reports the full duration even though
      // half the samples are missing: the upload is accepted and the pipeline fails the job later
      assert.equal(res.status, 202, res.text);
      await call(base, 'DELETE', `/v1/jobs/${res.body.job.id}`, { token: alice.accessToken });
    });

    it('lists own jobs newest first with cursor paging', async () => {
      const s = await registerAndLogin(base);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await upload(base, s.accessToken, video);
        assert.equal(r.status, 202);
        ids.push(r.body.job.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const page = await call(base, 'GET', `/v1/jobs${q}`, { token: s.accessToken });
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.jobs.length <= 2);
        seen.push(...page.body.jobs.map((j: { id: string }) => j.id));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.deepEqual(seen, [...ids].reverse());
      assert.equal(pages, 3);
      assertError(
        await call(base, 'GET', '/v1/jobs?cursor=garbage', { token: s.accessToken }),
        400,
        'INVALID_CURSOR',
      );
      assertError(
        await call(base, 'GET', '/v1/jobs?limit=0', { token: s.accessToken }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await call(base, 'GET', '/v1/jobs?limit=abc', { token: s.accessToken }),
        400,
        'VALIDATION_ERROR',
      );
      assertError(
        await call(base, 'GET', '/v1/jobs?foo=1', { token: s.accessToken }),
        400,
        'VALIDATION_ERROR',
      );
      // bob sees none of them
      const bobs = await call(base, 'GET', '/v1/jobs?limit=100', { token: bob.accessToken });
      assert.ok(bobs.body.jobs.every((j: { id: string }) => !ids.includes(j.id)));
    });

    it('finds jobs by file name (q: case-insensitive, literal, paged)', async () => {
      const s = await registerAndLogin(base);
      const names = ['Harbour_Cam 1.mp4', 'harbour-cam-2.mp4', 'street.mp4', '100%_done.mp4', 'a_b.mp4'];
      const ids = new Map<string, string>();
      for (const filename of names) {
        const r = await upload(base, s.accessToken, video, {}, { filename });
        assert.equal(r.status, 202, r.text);
        ids.set(filename, r.body.job.id);
      }
      const find = async (q: string, limit = 20) =>
        (
          await call(base, 'GET', `/v1/jobs?limit=${limit}&q=${encodeURIComponent(q)}`, {
            token: s.accessToken,
          })
        ).body as { jobs: { video: { originalName: string } }[]; nextCursor: string | null };
      const namesOf = (r: Awaited<ReturnType<typeof find>>) => r.jobs.map((j) => j.video.originalName);
      assert.deepEqual(namesOf(await find('HARBOUR')), ['harbour-cam-2.mp4', 'Harbour_Cam 1.mp4']);
      // % and _ are literal characters, not LIKE wildcards
      assert.deepEqual(namesOf(await find('%')), ['100%_done.mp4']);
      assert.deepEqual(namesOf(await find('a_b')), ['a_b.mp4']);
      assert.deepEqual(namesOf(await find('nothing like this')), []);
      // paging keeps the filter
      const first = await find('harbour', 1);
      assert.deepEqual(namesOf(first), ['harbour-cam-2.mp4']);
      assert.ok(first.nextCursor);
      const second = (
        await call(base, 'GET', `/v1/jobs?limit=1&q=harbour&cursor=${encodeURIComponent(first.nextCursor)}`, {
          token: s.accessToken,
        })
      ).body;
      assert.deepEqual(
        second.jobs.map((j: { id: string }) => j.id),
        [ids.get('Harbour_Cam 1.mp4')],
      );
      assert.equal(second.nextCursor, null);
      // another user's jobs never match
      const other = await call(base, 'GET', '/v1/jobs?q=harbour', { token: bob.accessToken });
      assert.deepEqual(other.body.jobs, []);
      assertError(
        await call(base, 'GET', `/v1/jobs?q=${'x'.repeat(201)}`, { token: s.accessToken }),
        400,
        'VALIDATION_ERROR',
      );
    });

    it("another user's job is a 404", async () => {
      const r = await upload(base, alice.accessToken, video);
      const id = r.body.job.id;
      assertError(
        await call(base, 'GET', `/v1/jobs/${id}`, { token: bob.accessToken }),
        404,
        'JOB_NOT_FOUND',
      );
      assertError(
        await call(base, 'DELETE', `/v1/jobs/${id}`, { token: bob.accessToken }),
        404,
        'JOB_NOT_FOUND',
      );
      assertError(
        await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: bob.accessToken }),
        404,
        'JOB_NOT_FOUND',
      );
      assertError(
        await call(base, 'GET', '/v1/jobs/not-a-uuid', { token: alice.accessToken }),
        404,
        'JOB_NOT_FOUND',
      );
      assert.equal((await call(base, 'GET', `/v1/jobs/${id}`, { token: alice.accessToken })).status, 200);
    });

    it('cancels a queued job; a finished one is a 409', async () => {
      const r = await upload(base, alice.accessToken, video);
      const id = r.body.job.id;
      const c = await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: alice.accessToken });
      assert.equal(c.status, 200, c.text);
      assert.equal(c.body.job.status, 'canceled');
      assert.ok(c.body.job.finishedAt);
      assert.equal(await srv.repos.jobs.status(id), 'canceled');
      assert.equal(
        (await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: alice.accessToken })).status,
        200,
      );
      const r2 = await upload(base, alice.accessToken, video);
      await tdb.handle.db
        .updateTable('jobs')
        .set({ status: 'completed' })
        .where('id', '=', r2.body.job.id)
        .execute();
      assertError(
        await call(base, 'POST', `/v1/jobs/${r2.body.job.id}/cancel`, { token: alice.accessToken }),
        409,
        'JOB_FINISHED',
      );
    });

    it('deletes a job: rows, frames and the video go', async () => {
      const r = await upload(base, alice.accessToken, video);
      const id = r.body.job.id;
      await tdb.handle.db
        .insertInto('frames')
        .values({ job_id: id, frame_index: 0, timestamp: 0, detections: JSON.stringify([]) })
        .execute();
      assert.ok(await srv.storage.stat(`videos/${id}`));
      const d = await call(base, 'DELETE', `/v1/jobs/${id}`, { token: alice.accessToken });
      assert.equal(d.status, 204);
      assert.equal(await srv.storage.stat(`videos/${id}`), null);
      assertError(
        await call(base, 'GET', `/v1/jobs/${id}`, { token: alice.accessToken }),
        404,
        'JOB_NOT_FOUND',
      );
      const frames = await tdb.handle.db.selectFrom('frames').selectAll().where('job_id', '=', id).execute();
      assert.equal(frames.length, 0);
      assert.equal(await srv.repos.jobs.status(id), null);
    });
  });
}
