import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { personThenCupVideo } from '../../helpers/content.js';
import { call, registerAndLogin, upload } from '../../helpers/http.js';
import { metricValue } from '../../helpers/metrics.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';
import {
  type ApiFrame,
  allFramesPaged,
  assertPersonThenCup,
  ffprobeFrameTimes,
  getJob,
  readEvents,
  sleep,
  waitForJob,
} from './checks.js';
import { allTracks, checkTracks, type TrackedFrame } from './tracks-checks.js';

/**
 * The whole pipeline in one standalone process (PGlite, in-process queue and workers) with real
 * content, over real HTTP: the reference video, 1280x720 at 30 fps, 2 s of the astronaut
 * then 2 s of the coffee cup, a keyframe every 15 frames (120 frames), which keeps CPU
 * inference on this 2-core machine to a few seconds while still giving several chunks
 * (CHUNK_SECONDS=1) and keyframe-aligned seeks.
 */

const SEGMENT = 2;
const FPS = 30;
const N = 2 * SEGMENT * FPS; // frames in the video
let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let video: string;
let times: number[];
let alice: { accessToken: string };
let bob: { accessToken: string };

async function count(table: 'frames' | 'job_chunks' | 'jobs', jobId: string): Promise<number> {
  const col = table === 'jobs' ? sql.ref('id') : sql.ref('job_id');
  const r = await sql<{
    n: number;
  }>`select count(*)::int as n from ${sql.table(table)} where ${col} = ${jobId}`.execute(tdb.handle.db);
  return Number(r.rows[0].n);
}

before(async () => {
  video = await personThenCupVideo({ width: 1280, height: 720, fps: FPS, segmentSeconds: SEGMENT, gop: 15 });
  times = await ffprobeFrameTimes(video);
  assert.equal(times.length, N, `the test video has ${N} frames`);
  tdb = await createTestDatabase('pglite');
  srv = await startServer(tdb, { CHUNK_SECONDS: '1', TASK_BACKOFF_MS: '100' }, { workers: true });
  base = srv.url;
  alice = await registerAndLogin(base);
  bob = await registerAndLogin(base);
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
});

describe('standalone pipeline with real content', () => {
  let jobId: string;
  let frames: ApiFrame[];

  test('every frame once, with ffprobe timestamps; person then cup; summary; SSE events', async () => {
    const up = await upload(base, alice.accessToken, video, {}, { filename: 'person-cup.mp4' });
    assert.equal(up.status, 202, up.text);
    jobId = up.body.job.id;
    assert.equal(up.headers.get('location'), `/v1/jobs/${jobId}`);
    // read the event stream while the job runs
    const eventsP = readEvents(`${base}/v1/jobs/${jobId}/events`, alice.accessToken, 90_000);
    const job = await waitForJob(base, alice.accessToken, jobId);
    assert.ok(job.progress.chunksTotal >= 4, `several chunks (${job.progress.chunksTotal})`);
    const paged = await allFramesPaged(base, alice.accessToken, jobId, '', 17);
    frames = paged.frames;
    assert.equal(paged.pages, Math.ceil(N / 17));
    assertPersonThenCup(job, frames, times, SEGMENT);
    const chunks = await srv.repos.chunks.list(jobId);
    assert.equal(chunks.length, job.progress.chunksTotal);
    assert.ok(
      chunks.every((c) => c.status === 'done' && c.attempts === 1),
      JSON.stringify(chunks.map((c) => [c.status, c.attempts])),
    );
    assert.equal(
      chunks.reduce((s, c) => s + c.framesDone, 0),
      N,
    );

    const events = await eventsP;
    const last = events[events.length - 1];
    assert.deepEqual(last, { event: 'status', data: { status: 'completed', error: null } });
    const progress = events.filter((e) => e.event === 'progress');
    assert.ok(progress.length >= 2, `progress events: ${progress.length}`);
    assert.equal(progress[progress.length - 1].data.status, 'completed');
    assert.equal(progress[progress.length - 1].data.progress.framesDone, N);
    const done = progress.map((e) => e.data.progress.framesDone);
    assert.deepEqual(
      done,
      [...done].sort((a, b) => a - b),
      'framesDone never goes back',
    );
  });

  test('/metrics after that job: every frame analysed once, one decode per chunk, busy time, queues empty', async () => {
    const m = await call(base, 'GET', '/metrics');
    assert.equal(m.status, 200);
    const value = (sample: string) => metricValue(m.text, sample);
    const chunks = await srv.repos.chunks.list(jobId);
    assert.equal(value('frames_analysed_total{model="centernet"}'), N);
    assert.equal(value('decode_seconds_count'), chunks.length);
    const runs = value('inference_seconds_count{model="centernet"}') ?? 0;
    assert.ok(runs >= Math.ceil(N / 4), `one run per batch at least (${runs})`);
    assert.ok((value('inference_seconds_sum{model="centernet"}') ?? 0) > 0);
    assert.ok((value('worker_busy_seconds_total{queue="detect"}') ?? 0) > 0);
    const ratio = value('worker_busy_ratio{queue="detect"}') ?? -1;
    assert.ok(ratio > 0 && ratio <= 1, `busy ratio ${ratio}`);
    for (const q of ['process', 'detect', 'track', 'finalize', 'notify'])
      for (const state of ['waiting', 'active'])
        assert.equal(value(`queue_tasks{queue="${q}",state="${state}"}`), 0, `${q} ${state}`);
  });

  test('detections filters: from/to, label, minScore, labels view, NDJSON', async () => {
    const get = (q: string) =>
      call(base, 'GET', `/v1/jobs/${jobId}/detections?${q}`, { token: alice.accessToken });
    // from/to are inclusive seconds
    const ranged = await allFramesPaged(base, alice.accessToken, jobId, 'from=1&to=2.5', 5);
    assert.deepEqual(
      ranged.frames.map((f) => f.frameIndex),
      frames.filter((f) => f.timestamp >= 1 && f.timestamp <= 2.5).map((f) => f.frameIndex),
    );
    assert.equal(ranged.frames.length, 1.5 * FPS + 1); // 1 s to 2.5 s inclusive
    // label: only frames with that label, only that label's detections
    const cups = await allFramesPaged(base, alice.accessToken, jobId, 'label=cup', 1000);
    const withCup = frames.filter((f) => f.detections.some((d) => d.label === 'cup'));
    assert.ok(withCup.length > 0);
    assert.deepEqual(
      cups.frames.map((f) => f.frameIndex),
      withCup.map((f) => f.frameIndex),
    );
    for (const f of cups.frames) {
      assert.ok(f.detections.length > 0 && f.detections.every((d) => d.label === 'cup'));
      assert.ok(f.timestamp >= SEGMENT);
    }
    // several labels, comma-separated: frames with any of them, only their detections
    const labelled = frames
      .map((f) => ({
        ...f,
        detections: f.detections.filter((d) => d.label === 'cup' || d.label === 'person'),
      }))
      .filter((f) => f.detections.length > 0);
    const both = await allFramesPaged(base, alice.accessToken, jobId, 'label=cup,person', 1000);
    assert.ok(
      labelled.some((f) => f.detections.some((d) => d.label === 'person')),
      'the video has people as well as cups',
    );
    assert.deepEqual(
      both.frames.map((f) => [f.frameIndex, f.detections.map((d) => d.label)]),
      labelled.map((f) => [f.frameIndex, f.detections.map((d) => d.label)]),
    );
    // minScore keeps every frame, drops weaker detections
    const strong = await allFramesPaged(base, alice.accessToken, jobId, 'minScore=0.6', 1000);
    assert.equal(strong.frames.length, N);
    for (let i = 0; i < N; i++) {
      assert.deepEqual(
        strong.frames[i].detections,
        frames[i].detections.filter((d) => d.score >= 0.6),
      );
    }
    assert.ok(
      strong.frames.reduce((s, f) => s + f.detections.length, 0) <
        frames.reduce((s, f) => s + f.detections.length, 0),
    );
    // labels view
    const labels = await get('format=labels&limit=1000');
    assert.equal(labels.status, 200);
    assert.equal(labels.body.nextCursor, null);
    assert.equal(labels.body.frames.length, N);
    assert.deepEqual(labels.body.frames[3], {
      frameIndex: 3,
      timestamp: frames[3].timestamp,
      labels: frames[3].detections.map((d) => [d.label, d.score]),
    });
    // NDJSON: the whole job, one frame a line
    const nd = await get('format=ndjson');
    assert.equal(nd.status, 200);
    assert.match(nd.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const lines = nd.text.trimEnd().split('\n');
    assert.equal(lines.length, N);
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      frames,
    );
    // a bad cursor is a 400
    assert.equal((await get('cursor=nonsense')).status, 400);
  });

  test('another user gets 404 for the job, its detections and its events', async () => {
    for (const path of [
      `/v1/jobs/${jobId}`,
      `/v1/jobs/${jobId}/detections`,
      `/v1/jobs/${jobId}/events`,
      `/v1/jobs/${jobId}/tracks`,
      `/v1/jobs/${jobId}/export?format=coco`,
    ]) {
      const r = await call(base, 'GET', path, { token: bob.accessToken });
      assert.equal(r.status, 404, `${path}: ${r.status}`);
      assert.equal(r.body.error.code, 'JOB_NOT_FOUND');
    }
  });

  test('tracks: the same in one chunk as in 1 s chunks; tracks API, thumbnails, exports, 404 for others', async () => {
    const job = await getJob(base, alice.accessToken, jobId);
    const all = (url: string, id: string) =>
      allFramesPaged(url, alice.accessToken, id, 'includeNoise=true', 1000).then(
        (p) => p.frames as TrackedFrame[],
      );
    const noisy = await all(base, jobId);
    const tracks = await checkTracks(base, alice.accessToken, job, noisy, bob.accessToken);
    assert.ok(
      tracks.some((t) => t.label === 'person' && t.frames >= 50),
      'the astronaut is one long track',
    );
    // the same video in one chunk, on a server with long chunks (same database, same users)
    const one = await startServer(tdb, { CHUNK_SECONDS: '600' }, { workers: true });
    try {
      const up = await upload(one.url, alice.accessToken, video);
      assert.equal(up.status, 202, up.text);
      const single = await waitForJob(one.url, alice.accessToken, up.body.job.id);
      assert.equal(single.status, 'completed', single.error);
      assert.equal(single.progress.chunksTotal, 1);
      assert.ok(job.progress.chunksTotal >= 4);
      assert.deepEqual(await all(one.url, single.id), noisy, 'the same frames, track ids and all');
      const strip = (ts: { thumbnailUrl: string }[]) => ts.map(({ thumbnailUrl: _, ...t }) => t);
      const singleTracks = (await allTracks(one.url, alice.accessToken, single.id, 'minFrames=1')).tracks;
      assert.deepEqual(strip(singleTracks), strip(tracks));
      assert.deepEqual(single.summary, job.summary);
    } finally {
      await one.close();
    }
    // the database holds each track once, and no tracker state is left behind unfinished
    const rows = await sql<{ n: number; d: number }>`
      select count(*)::int as n, count(distinct track_id)::int as d from tracks where job_id = ${jobId}`.execute(
      tdb.handle.db,
    );
    assert.deepEqual(rows.rows[0], { n: tracks.length, d: tracks.length });
    const state = await srv.repos.trackerStates.load(jobId);
    assert.equal(state?.nextChunk, job.progress.chunksTotal);
  });

  test('fps=2 analyses exactly one frame per 0.5 s slot', async () => {
    const up = await upload(base, alice.accessToken, video, { fps: '2' });
    assert.equal(up.status, 202, up.text);
    const job = await waitForJob(base, alice.accessToken, up.body.job.id);
    assert.equal(job.status, 'completed', job.error);
    // noise kept: at 2 fps a track has fewer frames than at 30, and the ids differ; the boxes do not
    const { frames: sampled } = await allFramesPaged(
      base,
      alice.accessToken,
      job.id,
      'includeNoise=true',
      100,
    );
    const { frames: every } = await allFramesPaged(base, alice.accessToken, jobId, 'includeNoise=true', 1000);
    const untracked = (f: ApiFrame) =>
      f.detections.map((d) => ({ label: d.label, score: d.score, box: d.box }));
    const slots = sampled.map((f) => Math.floor(f.timestamp * 2 + 1e-9));
    assert.deepEqual(slots, [0, 1, 2, 3, 4, 5, 6, 7]);
    // the first frame of each slot, with the same timestamp ffprobe gives it
    assert.deepEqual(
      sampled.map((f) => f.frameIndex),
      [0, 1, 2, 3, 4, 5, 6, 7].map((slot) => slot * (FPS / 2)),
    );
    for (const f of sampled) assert.ok(Math.abs(f.timestamp - times[f.frameIndex]) < 1e-6);
    assert.equal(job.progress.framesTotal, 8);
    assert.equal(job.summary.framesAnalysed, 8);
    // same frames, same detections as the every-frame job
    for (const f of sampled) assert.deepEqual(untracked(f), untracked(every[f.frameIndex]));
  });

  test('cancel mid-job stops its chunks; DELETE removes every row and the file', async () => {
    const long = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 5, gop: 10 });
    const up = await upload(base, alice.accessToken, long);
    assert.equal(up.status, 202, up.text);
    const id = up.body.job.id;
    const running = await waitForJob(base, alice.accessToken, id, {
      pollMs: 20,
      until: (j) => j.status === 'processing' && j.progress.framesDone > 0,
    });
    assert.ok(running.progress.framesDone < running.progress.framesTotal, 'caught mid-job');
    const c = await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: alice.accessToken });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.job.status, 'canceled');
    // a batch already at the detector may still be dropped, but nothing is written after the cancel settles
    await sleep(1500);
    const n1 = await count('frames', id);
    const chunksAfter = await srv.repos.chunks.list(id);
    await sleep(2500);
    const n2 = await count('frames', id);
    assert.equal(n2, n1, 'frames stop growing after cancel');
    assert.ok(n1 < 100, `only part of the video was analysed (${n1} of 100 frames)`);
    const chunksLater = await srv.repos.chunks.list(id);
    assert.deepEqual(chunksLater, chunksAfter, 'no chunk ran after the cancel');
    assert.ok(
      chunksLater.some((ch) => ch.status === 'pending'),
      'some chunks never ran',
    );
    const job = await waitForJob(base, alice.accessToken, id);
    assert.equal(job.status, 'canceled');
    assert.equal(job.summary, null);
    // cancel again is idempotent; a canceled job cannot complete
    assert.equal(
      (await call(base, 'POST', `/v1/jobs/${id}/cancel`, { token: alice.accessToken })).body.job.status,
      'canceled',
    );

    const key = (
      await sql<{ video_key: string }>`select video_key from jobs where id = ${id}`.execute(tdb.handle.db)
    ).rows[0].video_key;
    const file = srv.storage.path(key);
    assert.ok(existsSync(file));
    assert.ok((await count('job_chunks', id)) > 0);
    const del = await call(base, 'DELETE', `/v1/jobs/${id}`, { token: alice.accessToken });
    assert.equal(del.status, 204, del.text);
    assert.equal(await count('frames', id), 0);
    assert.equal(await count('job_chunks', id), 0);
    assert.equal(await count('jobs', id), 0);
    assert.equal(existsSync(file), false, 'the video file is removed');
    assert.equal((await call(base, 'GET', `/v1/jobs/${id}`, { token: alice.accessToken })).status, 404);
  });
});
