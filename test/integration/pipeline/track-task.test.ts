import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRepositories, type Repositories } from '../../../src/db/repositories/index.js';
import { createJobScheduler } from '../../../src/pipeline/next.js';
import { createFinalizeTask } from '../../../src/pipeline/tasks/finalize.js';
import { createTrackTask, initialTrackerState } from '../../../src/pipeline/tasks/track.js';
import { createMemoryQueue } from '../../../src/queue/memory.js';
import type { TaskQueue } from '../../../src/queue/port.js';
import { trackChunk } from '../../../src/tracking/tracker.js';
import { createTestDatabase, DB_KINDS, type TestDatabase } from '../../helpers/server.js';

/**
 * The `track` step against a real database (PGlite and PostgreSQL) and the real in-process queue
 * (not consumed: what the step queues next is read from it). Frames are written here as the
 * detect step would write them (weak detections included); what is under test is that tracking
 * chunk by chunk through tracker_states gives exactly the tracks of one pass over the video, and
 * that duplicated, repeated and concurrent track steps change nothing.
 */

const CHUNKS = 4;
const PER_CHUNK = 12;
const MIN_SCORE = 0.35;

/** Two objects moving across the picture, one flickering weakly, plus one-frame blips. */
function videoFrames() {
  const frames = [];
  for (let i = 0; i < CHUNKS * PER_CHUNK; i++) {
    const detections = [
      {
        label: 'person',
        score: i % 7 === 3 ? 0.2 : 0.8,
        box: { x1: 10 + 4 * i, y1: 20, x2: 60 + 4 * i, y2: 120 },
      },
      { label: 'car', score: 0.6, box: { x1: 400 - 3 * i, y1: 200, x2: 480 - 3 * i, y2: 260 } },
    ];
    if (i % 11 === 5)
      detections.push({ label: 'dog', score: 0.5, box: { x1: 300, y1: 10, x2: 330, y2: 40 } });
    frames.push({ frameIndex: i, timestamp: i / 10, detections });
  }
  return frames;
}

for (const kind of DB_KINDS) {
  describe(`track step (${kind})`, () => {
    let tdb: TestDatabase;
    let repos: Repositories;
    let queue: TaskQueue;
    let userId: string;

    before(async () => {
      tdb = await createTestDatabase(kind);
      repos = createRepositories(tdb.handle.db);
      queue = createMemoryQueue();
      userId = randomUUID();
      await tdb.handle.db
        .insertInto('users')
        .values({ id: userId, username: `u-${userId.slice(0, 8)}`, password_hash: 'x' })
        .execute();
    });
    after(async () => {
      await queue?.close({ timeoutMs: 1000 });
      await tdb?.drop();
    });

    async function job(): Promise<string> {
      const id = randomUUID();
      await tdb.handle.db
        .insertInto('jobs')
        .values({
          id,
          user_id: userId,
          status: 'processing',
          video_key: `videos/${id}`,
          original_name: 'v.mp4',
          size_bytes: 1,
          sha256: 'x',
          probe: JSON.stringify({}),
          options: JSON.stringify({ minScore: MIN_SCORE, minTrackFrames: 5, callbackUrl: null }),
          chunks_total: CHUNKS,
        })
        .execute();
      await repos.chunks.insertPlan(
        id,
        Array.from({ length: CHUNKS }, (_, c) => ({
          chunkIndex: c,
          startSec: c,
          endSec: c + 1,
          startFrame: c * PER_CHUNK,
          frameCount: PER_CHUNK,
          sample: { indices: [], timestamps: [], firstPtsSec: 0, nextKeyframeSec: null },
        })),
      );
      await repos.frames.upsert(id, videoFrames());
      return id;
    }

    function steps() {
      const scheduler = createJobScheduler({ queue, retry: { attempts: 1, backoffMs: 10 } });
      const deps = { ...repos, scheduler };
      return { track: createTrackTask(deps), finalize: createFinalizeTask(deps) };
    }

    const done = (id: string, c: number) => repos.chunks.mark(id, c, { status: 'done' });
    const stored = async (id: string) => ({
      frames: await repos.frames.list(id, { limit: 1000 }),
      tracks: await repos.tracks.page(id, { limit: 1000 }),
    });
    /** One pass of the tracker over the whole video, as the expected result. */
    function onePass() {
      const r = trackChunk(initialTrackerState(MIN_SCORE), videoFrames(), { final: true });
      return { frames: r.frames, tracks: r.finished.sort((a, b) => a.id - b.id) };
    }

    test('chunks detected out of order, track steps repeated: one pass over the video, exactly', async () => {
      const id = await job();
      const { track } = steps();
      const ask = (c: number) => track({ jobId: id, chunkIndex: c });
      await done(id, 2);
      await ask(2); // chunk 0 not detected: nothing to do
      assert.equal((await repos.trackerStates.load(id))?.nextChunk, 0);
      await done(id, 0);
      await ask(0);
      await ask(0); // a duplicate
      assert.equal((await repos.trackerStates.load(id))?.nextChunk, 1, 'chunk 1 is not detected yet');
      await done(id, 1);
      await ask(1); // tracks 1 and 2
      assert.equal((await repos.trackerStates.load(id))?.nextChunk, 3);
      assert.equal((await queue.taskState('finalize', `finalize:${id}`)).state, 'missing');
      await done(id, 3);
      await ask(3);
      await ask(3); // after the end: only queues finalize again (deduplicated)
      assert.equal((await queue.taskState('finalize', `finalize:${id}`)).state, 'waiting');
      const expected = onePass();
      const got = await stored(id);
      assert.deepEqual(got.frames, expected.frames);
      assert.deepEqual(got.tracks, expected.tracks);
      // weak detections are gone from the frames, every reported one has its trackId or null
      assert.ok(got.frames.every((f) => f.detections.every((d) => d.score >= MIN_SCORE && 'trackId' in d)));
      assert.ok(got.tracks.length >= 2);
    });

    test('concurrent track steps of one job: the compare-and-set lets one write per chunk', async () => {
      const id = await job();
      const { track } = steps();
      for (let c = 0; c < CHUNKS; c++) await done(id, c);
      await Promise.all(Array.from({ length: 6 }, (_, k) => track({ jobId: id, chunkIndex: k % CHUNKS })));
      const expected = onePass();
      const got = await stored(id);
      assert.deepEqual(got.frames, expected.frames);
      assert.deepEqual(got.tracks, expected.tracks);
      assert.equal((await repos.trackerStates.load(id))?.nextChunk, CHUNKS);
    });

    test('finalize before tracking is done asks for tracking; after it, counts objects', async () => {
      const id = await job();
      const { track, finalize } = steps();
      for (let c = 0; c < CHUNKS; c++) await done(id, c);
      await finalize({ jobId: id });
      assert.equal((await repos.jobs.getById(id))?.status, 'processing', 'not completed untracked');
      assert.equal((await queue.taskState('track', `track:${id}:${CHUNKS - 1}`)).state, 'waiting');
      await track({ jobId: id, chunkIndex: CHUNKS - 1 });
      await finalize({ jobId: id });
      const j = await repos.jobs.getById(id);
      assert.equal(j?.status, 'completed');
      const kept = onePass().tracks.filter((t) => t.frames >= 5);
      assert.equal(j?.summary?.objects, kept.length);
    });

    test('a canceled job is not tracked', async () => {
      const id = await job();
      const { track } = steps();
      await done(id, 0);
      await tdb.handle.db.updateTable('jobs').set({ status: 'canceled' }).where('id', '=', id).execute();
      await track({ jobId: id, chunkIndex: 0 });
      assert.equal(await repos.trackerStates.load(id), null);
    });
  });
}
