import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { personThenCupVideo } from '../helpers/content.js';
import { call, registerAndLogin, upload } from '../helpers/http.js';
import { createTestDatabase, startServer } from '../helpers/server.js';
import {
  allFramesPaged,
  assertPersonThenCup,
  ffprobeFrameTimes,
  readEvents,
  waitForJob,
} from '../integration/pipeline/checks.js';
import { startTopology, type Topology } from '../integration/pipeline/topology.js';
import { allTracks, checkTracks, type TrackedFrame } from '../integration/pipeline/tracks-checks.js';

/**
 * The distributed topology (scripts/topology.mjs): API with no workers, a processor, two detector
 * workers, all separate processes on this machine's PostgreSQL and Redis (fresh database, unique
 * queue prefix). The same real-content checks as the standalone test, over HTTP. The video is
 * 640x360 at 10 fps (40 frames) instead of the 1280x720/30 fps to keep CI fast.
 */

const SEGMENT = 2;
let topo: Topology;

before(async () => {
  topo = await startTopology({
    CHUNK_SECONDS: '1',
    DETECTOR_THREADS: '1',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
  });
});

after(async () => {
  await topo?.stop();
});

test('distributed: every frame once with ffprobe timestamps, person then cup, summary', async () => {
  const video = await personThenCupVideo({
    width: 640,
    height: 360,
    fps: 10,
    segmentSeconds: SEGMENT,
    gop: 10,
  });
  const times = await ffprobeFrameTimes(video);
  assert.equal(times.length, 40);
  const user = await registerAndLogin(topo.url);
  const up = await upload(topo.url, user.accessToken, video);
  assert.equal(up.status, 202, up.text);
  const id = up.body.job.id;
  const events = readEvents(`${topo.url}/v1/jobs/${id}/events`, user.accessToken, 120_000);
  const job = await waitForJob(topo.url, user.accessToken, id, { timeoutMs: 120_000 });
  assert.ok(job.progress.chunksTotal >= 4, `several chunks: ${job.progress.chunksTotal}`);
  const { frames } = await allFramesPaged(topo.url, user.accessToken, id, '', 9);
  assertPersonThenCup(job, frames, times, SEGMENT);

  // the database agrees: one row per frame, every chunk done once
  const [rows] = await topo.query(
    'select count(*)::int as n, count(distinct frame_index)::int as d, min(frame_index) as lo, max(frame_index) as hi from frames where job_id = $1',
    [id],
  );
  assert.deepEqual(rows, { n: 40, d: 40, lo: 0, hi: 39 });
  const chunks = await topo.query(
    'select status, attempts, frames_done from job_chunks where job_id = $1 order by chunk_index',
    [id],
  );
  assert.equal(chunks.length, job.progress.chunksTotal);
  assert.ok(
    chunks.every((c) => c.status === 'done' && c.attempts === 1),
    JSON.stringify(chunks),
  );
  assert.equal(
    chunks.reduce((s, c) => s + c.frames_done, 0),
    40,
  );

  const ev = await events;
  assert.deepEqual(ev[ev.length - 1], { event: 'status', data: { status: 'completed', error: null } });

  // NDJSON from the API node gives the same frames
  const nd = await call(topo.url, 'GET', `/v1/jobs/${id}/detections?format=ndjson`, {
    token: user.accessToken,
  });
  assert.deepEqual(
    nd.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l)),
    frames,
  );
  // readiness sees the database and Redis
  const ready = await call(topo.url, 'GET', '/readyz');
  assert.equal(ready.status, 200, ready.text);

  // tracks: tracked in order by the processor across chunks detected by two workers; the tracks
  // API, thumbnails and exports from the API node; another user gets 404
  const other = await registerAndLogin(topo.url);
  const noisy = (await allFramesPaged(topo.url, user.accessToken, id, 'includeNoise=true', 1000))
    .frames as TrackedFrame[];
  const tracks = await checkTracks(topo.url, user.accessToken, job, noisy, other.accessToken);
  const [state] = await topo.query('select next_chunk from tracker_states where job_id = $1', [id]);
  assert.equal(state.next_chunk, job.progress.chunksTotal);
  const [counted] = await topo.query('select count(*)::int as n from tracks where job_id = $1', [id]);
  assert.equal(counted.n, tracks.length);

  // the same video in one chunk, standalone (PGlite, in-process queue): the same tracks
  const tdb = await createTestDatabase('pglite');
  const one = await startServer(tdb, { CHUNK_SECONDS: '600', DETECTOR_THREADS: '1' }, { workers: true });
  try {
    const u = await registerAndLogin(one.url);
    const up1 = await upload(one.url, u.accessToken, video);
    assert.equal(up1.status, 202, up1.text);
    const single = await waitForJob(one.url, u.accessToken, up1.body.job.id, { timeoutMs: 120_000 });
    assert.equal(single.status, 'completed', single.error);
    assert.equal(single.progress.chunksTotal, 1);
    const singleFrames = (await allFramesPaged(one.url, u.accessToken, single.id, 'includeNoise=true', 1000))
      .frames;
    assert.deepEqual(singleFrames, noisy, 'the same frames, track ids and all');
    const strip = (ts: { thumbnailUrl: string }[]) => ts.map(({ thumbnailUrl: _, ...t }) => t);
    assert.deepEqual(
      strip((await allTracks(one.url, u.accessToken, single.id, 'minFrames=1')).tracks),
      strip(tracks),
    );
    assert.deepEqual(single.summary, job.summary);
  } finally {
    await one.close();
    await tdb.drop();
  }
});
