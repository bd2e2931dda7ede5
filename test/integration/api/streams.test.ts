/**
 * Event streams for many users (issue 10, item 3): a per-user cap on open streams, one database
 * read per tick for all streams (the shared job watcher), and streams that end when their access
 * token does, with `event: expired`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ExpiredEvent, ProgressEvent } from '../../../src/api/schemas.js';
import type { JobRecord } from '../../../src/db/repositories/jobs.js';
import { createJobWatcher } from '../../../src/services/job-watcher.js';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import {
  createTestDatabase,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

FormatRegistry.Set('uuid', () => true);

interface Stream {
  status: number;
  events: { event: string; data: any }[];
  /** resolves when the server ends the stream */
  ended: Promise<void>;
  close(): void;
}

/** Opens an event stream and parses its events as they arrive. */
async function openStream(base: string, path: string, token: string): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(base + path, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  const events: Stream['events'] = [];
  const close = () => abort.abort();
  if (res.status !== 200 || !res.body) {
    await res.text().catch(() => {});
    return { status: res.status, events, ended: Promise.resolve(), close };
  }
  const body = res.body;
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (ev && data) events.push({ event: ev[1], data: JSON.parse(data[1]) });
          i = buf.indexOf('\n\n');
        }
      }
    } catch {
      // closed by us
    }
  })();
  return { status: res.status, events, ended, close };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let tdb: TestDatabase;
const servers: TestServer[] = [];
before(async () => {
  tdb = await createTestDatabase('pglite');
});
after(async () => {
  for (const s of servers) await s.close();
  await tdb?.drop();
});

describe('many streams', () => {
  let srv: TestServer;
  let alice: Awaited<ReturnType<typeof registerAndLogin>>;
  let jobA: string;
  let jobB: string;
  before(async () => {
    srv = await startServer(tdb, { USER_MAX_EVENT_STREAMS: '12' }, { queue: recordingQueue() });
    servers.push(srv);
    alice = await registerAndLogin(srv.url);
    const video = await smallVideo(2);
    jobA = (await upload(srv.url, alice.accessToken, video)).body.job.id;
    jobB = (await upload(srv.url, alice.accessToken, video)).body.job.id;
  });

  test('ten streams of two jobs are two watched jobs read together; progress and the end reach every one', async () => {
    const streams = [
      ...(await Promise.all(
        Array.from({ length: 6 }, () => openStream(srv.url, `/v1/jobs/${jobA}/events`, alice.accessToken)),
      )),
      ...(await Promise.all(
        Array.from({ length: 4 }, () => openStream(srv.url, `/v1/jobs/${jobB}/events`, alice.accessToken)),
      )),
    ];
    for (const s of streams) assert.equal(s.status, 200);
    const watcher = srv.rt.services.jobWatcher;
    await until('the streams to be watched', () => watcher.stats().listeners === 10);
    assert.deepEqual({ ...watcher.stats(), reads: 0 }, { jobs: 2, listeners: 10, reads: 0 });

    // a worker (here: the database) moves job A on: every stream of A sees it, B's do not
    await tdb.handle.db
      .updateTable('jobs')
      .set({ status: 'processing', frames_total: 20, frames_done: 5 })
      .where('id', '=', jobA)
      .execute();
    await until('the progress to reach every stream of A', () =>
      streams
        .slice(0, 6)
        .every((s) => s.events.some((e) => e.event === 'progress' && e.data.progress.framesDone === 5)),
    );
    for (const s of streams.slice(0, 6)) {
      const e = s.events.find((x) => x.data.progress?.framesDone === 5);
      assert.ok(Value.Check(ProgressEvent, e?.data), JSON.stringify(e));
      assert.equal(e?.data.progress.percent, 25);
    }
    for (const s of streams.slice(6)) assert.ok(s.events.every((e) => e.data.status === 'queued'));

    // A is canceled and B deleted: every stream gets its last event and ends; nothing is watched
    assert.equal(
      (await call(srv.url, 'POST', `/v1/jobs/${jobA}/cancel`, { token: alice.accessToken })).status,
      200,
    );
    assert.equal(
      (await call(srv.url, 'DELETE', `/v1/jobs/${jobB}`, { token: alice.accessToken })).status,
      204,
    );
    await Promise.all(streams.map((s) => s.ended));
    for (const s of streams.slice(0, 6))
      assert.deepEqual(s.events.at(-1), { event: 'status', data: { status: 'canceled', error: null } });
    for (const s of streams.slice(6))
      assert.deepEqual(s.events.at(-1), { event: 'status', data: { status: 'deleted', error: null } });
    await until('the watcher to let go', () => watcher.stats().jobs === 0 && watcher.stats().listeners === 0);
  });

  test('one query per tick for every watched job, whatever the number of streams (real repository)', async () => {
    const video = await smallVideo(2);
    const ids = [
      (await upload(srv.url, alice.accessToken, video)).body.job.id as string,
      (await upload(srv.url, alice.accessToken, video)).body.job.id as string,
    ];
    const reads: string[][] = [];
    const watcher = createJobWatcher({
      jobs: { listByIds: (batch) => (reads.push([...batch]), srv.repos.jobs.listByIds(batch)) },
      pollMs: 10,
    });
    const seen = new Map<number, (JobRecord | null)[]>();
    const stops: (() => void)[] = [];
    for (let i = 0; i < 200; i++) {
      seen.set(i, []);
      stops.push(watcher.watch(ids[i % 2], (job) => seen.get(i)?.push(job)));
    }
    await until('three ticks', () => reads.length >= 3);
    for (const stop of stops) stop();
    watcher.close();
    const ticks = reads.length;
    for (const batch of reads)
      assert.deepEqual([...batch].sort(), [...ids].sort(), 'each read asks for both jobs, once');
    for (const [i, jobs] of seen) {
      assert.equal(jobs.length, ticks, `listener ${i} was told once per tick`);
      assert.ok(jobs.every((j) => j?.id === ids[i % 2]));
    }
  });

  test('USER_MAX_EVENT_STREAMS per user: the next is a 429 until one closes; other users are not counted', async () => {
    const s = await startServer(tdb, { USER_MAX_EVENT_STREAMS: '2' }, { queue: recordingQueue() });
    servers.push(s);
    const u = await registerAndLogin(s.url);
    const other = await registerAndLogin(s.url);
    const video = await smallVideo(2);
    const mine = (await upload(s.url, u.accessToken, video)).body.job.id;
    const theirs = (await upload(s.url, other.accessToken, video)).body.job.id;
    const a = await openStream(s.url, `/v1/jobs/${mine}/events`, u.accessToken);
    const b = await openStream(s.url, `/v1/jobs/${mine}/events`, u.accessToken);
    assert.deepEqual([a.status, b.status], [200, 200]);
    const refused = await call(s.url, 'GET', `/v1/jobs/${mine}/events`, { token: u.accessToken });
    assertError(refused, 429, 'TOO_MANY_STREAMS');
    assert.match(refused.body.error.message, /2 event streams open/);
    const theirStream = await openStream(s.url, `/v1/jobs/${theirs}/events`, other.accessToken);
    assert.equal(theirStream.status, 200);
    // at the cap, the cap answers first (before looking the job up)
    assertError(await call(s.url, 'GET', `/v1/jobs/${theirs}/events`, { token: u.accessToken }), 429);
    a.close();
    let c: Stream | undefined;
    await until('a slot to free up', async () => {
      c = await openStream(s.url, `/v1/jobs/${mine}/events`, u.accessToken);
      return c.status === 200;
    });
    for (const x of [b, c, theirStream]) x?.close();
  });
});

test('a stream ends with event: expired when its access token expires', async () => {
  const s = await startServer(tdb, { ACCESS_TOKEN_TTL_SECONDS: '2' }, { queue: recordingQueue() });
  servers.push(s);
  const u = await registerAndLogin(s.url);
  const id = (await upload(s.url, u.accessToken, await smallVideo(2))).body.job.id;
  // a fresh 2 s token for the stream: the upload (probe and packet scan before the 202) may take
  // a good part of the first one's life on a busy machine
  const fresh = await call(s.url, 'POST', '/v1/auth/refresh', { json: { refreshToken: u.refreshToken } });
  assert.equal(fresh.status, 200, fresh.text);
  const t0 = Date.now();
  const stream = await openStream(s.url, `/v1/jobs/${id}/events`, fresh.body.accessToken);
  assert.equal(stream.status, 200);
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('the stream outlived its token by 10 s')), 12_000),
  );
  await Promise.race([stream.ended, timeout]);
  const last = stream.events.at(-1);
  assert.equal(last?.event, 'expired', JSON.stringify(stream.events));
  assert.ok(Value.Check(ExpiredEvent, last?.data), JSON.stringify(last?.data));
  assert.match(last?.data.message, /expired; reconnect/);
  assert.ok(Date.now() - t0 < 10_000);
  // the job itself goes on: a fresh token opens a new stream
  const again = await call(s.url, 'POST', '/v1/auth/refresh', {
    json: { refreshToken: fresh.body.refreshToken },
  });
  const next = await openStream(s.url, `/v1/jobs/${id}/events`, again.body.accessToken);
  assert.equal(next.status, 200);
  next.close();
});
