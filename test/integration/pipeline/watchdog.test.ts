import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import pino from 'pino';
import type { Database } from '../../../src/db/index.js';
import { createRepositories, type Repositories } from '../../../src/db/repositories/index.js';
import { createJobFailer } from '../../../src/pipeline/failures.js';
import { createJobScheduler } from '../../../src/pipeline/next.js';
import { createPipeline } from '../../../src/pipeline/pipeline.js';
import { createWatchdog } from '../../../src/pipeline/watchdog.js';
import { createBullmqQueue, deleteQueueKeys } from '../../../src/queue/bullmq.js';
import { createMemoryQueue } from '../../../src/queue/memory.js';
import type { TaskQueue } from '../../../src/queue/port.js';
import { createTestDatabase, DB_KINDS, recordingQueue, type TestDatabase } from '../../helpers/server.js';

/**
 * The watchdog and the per-user job slots against a real database (PGlite and PostgreSQL) and real
 * queues (in-process, and BullMQ on this machine's Redis for a task BullMQ failed for good). Jobs
 * are rows written here: what is under test is what the watchdog reads and decides, not video.
 * Jobs have a loopback callbackUrl so a failure's callback shows as a queued `notify` task (nothing
 * here consumes `notify`: no request is made).
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = pino({ level: 'silent' });

async function addUser(db: Kysely<Database>): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({ id, username: `u-${id.slice(0, 8)}`, password_hash: 'x' })
    .execute();
  return id;
}

async function addJob(
  db: Kysely<Database>,
  userId: string,
  status: 'queued' | 'processing',
  createdAt = new Date(),
): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('jobs')
    .values({
      id,
      user_id: userId,
      status,
      video_key: `videos/${id}`,
      original_name: 'v.mp4',
      size_bytes: 1,
      sha256: 'x',
      probe: JSON.stringify({}),
      options: JSON.stringify({ callbackUrl: 'http://127.0.0.1:9/hook' }),
      created_at: createdAt,
      updated_at: createdAt,
    })
    .execute();
  return id;
}

async function addChunks(repos: Repositories, db: Kysely<Database>, jobId: string, n: number) {
  await repos.chunks.insertPlan(
    jobId,
    Array.from({ length: n }, (_, i) => ({
      chunkIndex: i,
      startSec: i,
      endSec: i + 1,
      startFrame: i * 10,
      frameCount: 10,
      sample: { indices: [], timestamps: [], firstPtsSec: 0, nextKeyframeSec: null },
    })),
  );
  await db.updateTable('jobs').set({ chunks_total: n }).where('id', '=', jobId).execute();
}

/** Makes the job and its chunks look untouched for `ms`. */
async function age(db: Kysely<Database>, jobId: string, ms: number) {
  const at = sql<Date>`now() - ${`${ms} milliseconds`}::interval`;
  await db.updateTable('jobs').set({ updated_at: at }).where('id', '=', jobId).execute();
  await db.updateTable('job_chunks').set({ updated_at: at }).where('job_id', '=', jobId).execute();
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const settings = { maxRuns: 2, stallMs: 3_600_000, idleMs: 60_000 };
const retry = { attempts: 2, backoffMs: 100 };

/** The jobs whose failure callback was queued. */
const notified = (q: ReturnType<typeof recordingQueue>) =>
  q.enqueued.filter((e) => e.name === 'notify').map((e) => (e.payload as { jobId: string }).jobId);

for (const kind of DB_KINDS) {
  describe(`watchdog and job slots (${kind})`, () => {
    let tdb: TestDatabase;
    let db: Kysely<Database>;
    let repos: Repositories;
    before(async () => {
      tdb = await createTestDatabase(kind);
      db = tdb.handle.db;
      repos = createRepositories(db);
    });
    after(async () => {
      await tdb?.drop();
    });

    /** The pieces as src/runtime.ts wires them, on this queue. */
    function wire(queue: TaskQueue) {
      const scheduler = createJobScheduler({ queue, retry });
      const failJob = createJobFailer({ jobs: repos.jobs, chunks: repos.chunks, scheduler });
      return { scheduler, failJob };
    }

    function watchdog(queue: TaskQueue) {
      const { scheduler, failJob } = wire(queue);
      return createWatchdog({
        jobs: repos.jobs,
        chunks: repos.chunks,
        queue,
        scheduler,
        failJob,
        log,
        settings,
      });
    }

    test('job slots: at most `limit` jobs processing per user, oldest first, other users unaffected', async () => {
      const u = await addUser(db);
      const other = await addUser(db);
      const t = Date.now() - 10_000;
      const [j1, j2, j3] = [
        await addJob(db, u, 'queued', new Date(t)),
        await addJob(db, u, 'queued', new Date(t + 1000)),
        await addJob(db, u, 'queued', new Date(t + 2000)),
      ];
      const o1 = await addJob(db, other, 'queued', new Date(t + 3000));
      const { jobs } = repos;
      assert.equal(await jobs.claimJobSlot(j3, 2), false, 'two older jobs come first');
      // claims for one user from several workers at once: exactly two win
      const wins = await Promise.all([j1, j2, j3].map((j) => jobs.claimJobSlot(j, 2)));
      assert.deepEqual(wins, [true, true, false]);
      assert.equal(await jobs.status(j3), 'queued');
      assert.equal(await jobs.claimJobSlot(j1, 2), true, 'a job already processing keeps its slot');
      assert.equal(await jobs.claimJobSlot(o1, 2), true, 'another user has slots of their own');
      assert.ok(await jobs.complete(j1, { labels: [], framesAnalysed: 0 }));
      assert.equal(await jobs.claimJobSlot(j3, 2), true, 'a finished job frees its slot');
      assert.equal((await jobs.cancel(j2, u))?.status, 'canceled');
      assert.equal(await jobs.claimJobSlot(j2, 2), false, 'a canceled job never claims');
    });

    test('a chunk started maxRuns times that nobody is running fails its job, once, with a sentence', async () => {
      const q = recordingQueue();
      const u = await addUser(db);
      const id = await addJob(db, u, 'processing');
      await addChunks(repos, db, id, 3);
      await repos.chunks.mark(id, 0, { status: 'done' });
      for (let i = 0; i < 2; i++) await repos.chunks.mark(id, 1, { status: 'running', startAttempt: true });
      const w = watchdog(q);
      const report = await w.sweep();
      const mine = report.failed.filter((f) => f.jobId === id);
      assert.equal(mine.length, 1);
      assert.equal(
        mine[0].reason,
        'Analysis failed in chunk 1: it was started 2 times and its worker stopped each time.',
      );
      const job = await repos.jobs.getById(id);
      assert.equal(job?.status, 'failed');
      assert.equal(job?.error, mine[0].reason);
      assert.equal((await repos.chunks.get(id, 1))?.status, 'failed');
      assert.deepEqual(notified(q), [id]);
      // nothing more on the next pass
      const again = await w.sweep();
      assert.equal(
        again.failed.some((f) => f.jobId === id),
        false,
      );
      assert.deepEqual(notified(q), [id]);
      await q.close();
    });

    test('a chunk being analysed by a live worker is left alone, even on its last run', async () => {
      const q = createMemoryQueue();
      const release = deferred();
      const started = deferred();
      await q.work(
        {
          detect: async () => {
            started.resolve();
            await release.promise;
          },
        },
        { concurrency: 1 },
      );
      const u = await addUser(db);
      const id = await addJob(db, u, 'processing');
      await addChunks(repos, db, id, 1);
      for (let i = 0; i < 2; i++) await repos.chunks.mark(id, 0, { status: 'running', startAttempt: true });
      await q.enqueue('detect', { jobId: id, chunkIndex: 0 }, { dedupeId: `detect:${id}:0` });
      await started.promise;
      const report = await watchdog(q).sweep();
      assert.equal(
        report.failed.some((f) => f.jobId === id),
        false,
      );
      assert.equal(await repos.jobs.status(id), 'processing');
      release.resolve();
      await q.close();
    });

    test('no progress for JOB_STALL_SECONDS fails the job; a queued job is never "stalled"', async () => {
      const q = createMemoryQueue();
      const u = await addUser(db);
      const stuck = await addJob(db, u, 'processing');
      await addChunks(repos, db, stuck, 2);
      await age(db, stuck, settings.stallMs + 60_000);
      const waiting = await addJob(db, u, 'queued');
      await age(db, waiting, settings.stallMs + 60_000);
      await q.enqueue('process', { jobId: waiting }, { dedupeId: `process:${waiting}`, delayMs: 60_000 });
      const report = await watchdog(q).sweep();
      assert.deepEqual(
        report.failed.filter((f) => f.jobId === stuck).map((f) => f.reason),
        ['The job made no progress for 61 minutes and was stopped.'],
      );
      assert.equal(await repos.jobs.status(waiting), 'queued');
      await q.close();
    });

    test('tasks the queue lost are queued again once the job is idle, not before', async () => {
      const q = createMemoryQueue();
      const u = await addUser(db);
      const planned = await addJob(db, u, 'processing');
      await addChunks(repos, db, planned, 2);
      await repos.chunks.mark(planned, 0, { status: 'done' });
      const unplanned = await addJob(db, u, 'queued');
      const w = watchdog(q);
      let report = await w.sweep();
      assert.equal(
        report.requeued.some((r) => r.jobId === planned || r.jobId === unplanned),
        false,
        'busy jobs are not touched',
      );
      await age(db, planned, settings.idleMs + 1000);
      await age(db, unplanned, settings.idleMs + 1000);
      report = await w.sweep();
      assert.deepEqual(
        report.requeued.filter((r) => r.jobId === planned || r.jobId === unplanned).map((r) => r.dedupeId),
        [`detect:${planned}:1`, `process:${unplanned}`],
      );
      assert.deepEqual(await q.taskState('detect', `detect:${planned}:1`), { state: 'waiting' });
      // queued again already: the next pass sees them waiting
      report = await w.sweep();
      assert.equal(
        report.requeued.some((r) => r.jobId === planned || r.jobId === unplanned),
        false,
      );
      await q.close();
    });

    test('a standalone restart does not run again a chunk that already had TASK_ATTEMPTS runs', async () => {
      const q = recordingQueue();
      const u = await addUser(db);
      const poison = await addJob(db, u, 'processing');
      await addChunks(repos, db, poison, 2);
      for (let i = 0; i < 2; i++)
        await repos.chunks.mark(poison, 0, { status: 'running', startAttempt: true });
      const fine = await addJob(db, u, 'processing');
      await addChunks(repos, db, fine, 1);
      await repos.chunks.mark(fine, 0, { status: 'running', startAttempt: true });
      const pipeline = createPipeline({
        jobs: repos.jobs,
        chunks: repos.chunks,
        queue: q,
        ...wire(q),
        maxRuns: 2,
        log,
      });
      await pipeline.resumeUnfinished();
      assert.equal(
        (await repos.jobs.getById(poison))?.error,
        'Analysis failed in chunk 0: it was started 2 times and its worker stopped each time.',
      );
      assert.deepEqual(notified(q), [poison]);
      assert.deepEqual(await q.taskState('detect', `detect:${poison}:1`), { state: 'missing' });
      assert.deepEqual(await q.taskState('detect', `detect:${fine}:0`), { state: 'waiting' });
      await q.close();
    });

    test('a task BullMQ failed for good (the listener never ran) fails the job once it is idle, with its reason', async () => {
      const prefix = `wdtest-${randomUUID().slice(0, 8)}`;
      const q = createBullmqQueue({ url: REDIS_URL, prefix });
      try {
        const u = await addUser(db);
        const id = await addJob(db, u, 'processing');
        await addChunks(repos, db, id, 2);
        const failed = deferred();
        q.onFinalFailure(() => failed.resolve()); // stands for a listener whose process then died
        await q.work(
          {
            detect: async () => {
              throw new Error('ffmpeg exited with code 1');
            },
          },
          { concurrency: 1 },
        );
        await q.enqueue(
          'detect',
          { jobId: id, chunkIndex: 1 },
          { dedupeId: `detect:${id}:1`, fairnessKey: u },
        );
        await failed.promise;
        assert.equal(await repos.jobs.status(id), 'processing');
        let report = await watchdog(q).sweep();
        assert.equal(
          report.failed.some((f) => f.jobId === id),
          false,
          'a job that moved within idleMs is left to finish its other chunks',
        );
        await age(db, id, settings.idleMs + 1000);
        report = await watchdog(q).sweep();
        assert.deepEqual(
          report.failed.filter((f) => f.jobId === id).map((f) => f.reason),
          ['Analysis failed in chunk 1: ffmpeg exited with code 1.'],
        );
      } finally {
        await q.close();
        await deleteQueueKeys(REDIS_URL, prefix);
      }
    });
  });
}
