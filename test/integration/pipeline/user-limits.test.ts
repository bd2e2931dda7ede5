import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { personThenCupVideo } from '../../helpers/content.js';
import { registerAndLogin, upload } from '../../helpers/http.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';
import { getJob, sleep, waitForJob } from './checks.js';

/**
 * USER_MAX_ACTIVE_JOBS in a standalone process (PGlite, in-process queue, real model and ffmpeg):
 * with a limit of 1, alice's second job waits `queued` (not refused) until her first one ends,
 * while bob's job, submitted after both, starts without waiting for alice's second.
 */

let tdb: TestDatabase;
let srv: TestServer;
let base: string;

before(async () => {
  tdb = await createTestDatabase('pglite');
  srv = await startServer(
    tdb,
    { CHUNK_SECONDS: '1', DETECTOR_BATCH_SIZE: '2', USER_MAX_ACTIVE_JOBS: '1', TASK_BACKOFF_MS: '100' },
    { workers: true },
  );
  base = srv.url;
});

after(async () => {
  await srv?.close();
  await tdb?.drop();
});

test('a user over USER_MAX_ACTIVE_JOBS waits queued; other users do not wait for it', async () => {
  const alice = (await registerAndLogin(base)).accessToken;
  const bob = (await registerAndLogin(base)).accessToken;
  const video = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 1, gop: 10 });
  const ids: string[] = [];
  for (const token of [alice, alice, bob]) {
    const up = await upload(base, token, video);
    assert.equal(up.status, 202, up.text);
    ids.push(up.body.job.id);
  }
  const [a1, a2, b1] = ids;
  // bob's job starts while alice's second is still held back
  await waitForJob(base, bob, b1, { pollMs: 20, until: (j) => j.status !== 'queued' });
  const a1Now = await getJob(base, alice, a1);
  const a2Now = await getJob(base, alice, a2);
  assert.notEqual(a1Now.status, 'queued', 'alice: her first job started');
  if (a1Now.status === 'processing') assert.equal(a2Now.status, 'queued', 'alice: her second job waits');
  // while a1 runs, a2 stays queued
  const seen = new Set<string>();
  for (;;) {
    const [j1, j2] = [await getJob(base, alice, a1), await getJob(base, alice, a2)];
    if (j1.status === 'processing') {
      assert.equal(j2.status, 'queued', "two of alice's jobs were processing at once");
      seen.add('held');
    }
    if (j1.status !== 'queued' && j1.status !== 'processing') break;
    await sleep(20);
  }
  const done = await Promise.all([
    waitForJob(base, alice, a1),
    waitForJob(base, alice, a2),
    waitForJob(base, bob, b1),
  ]);
  for (const j of done) assert.equal(j.status, 'completed', j.error);
  // Whether the loop above caught a1 while it ran depends on the machine's speed (a1 is 20 frames),
  // so it is not asserted; the timestamps below prove the hold either way: a2 started only after
  // a1 had finished, and bob's job did not wait for a2.
  if (!seen.has('held')) console.log('# user-limits: a1 finished before the loop could look at it');
  assert.ok(
    Date.parse(done[1].startedAt) >= Date.parse(done[0].finishedAt),
    `a2 started ${done[1].startedAt}, a1 finished ${done[0].finishedAt}`,
  );
  assert.ok(Date.parse(done[2].startedAt) < Date.parse(done[1].startedAt), 'bob did not wait for a2');
});
