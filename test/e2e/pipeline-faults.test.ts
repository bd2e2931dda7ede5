import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { personThenCupVideo } from '../helpers/content.js';
import { call, registerAndLogin, upload } from '../helpers/http.js';
import { makerFfmpeg } from '../helpers/maker.js';
import { runProgram } from '../helpers/run-program.js';
import { allFramesPaged, ffprobeFrameTimes, sleep, waitForJob } from '../integration/pipeline/checks.js';
import { isAlive, startTopology, type Topology } from '../integration/pipeline/topology.js';
import { checkTracks, type TrackedFrame } from '../integration/pipeline/tracks-checks.js';

/**
 * Faults with real processes: a detector worker SIGKILLed mid-chunk, Redis unreachable for a few
 * seconds mid-job (through a TCP proxy: this machine's Redis is never touched), a standalone server
 * SIGKILLed and restarted, a video that probes fine but stops decoding half-way, and job callbacks
 * (signed, retried after a 500). Videos are 320x180 at 10 fps to keep CPU inference short.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REDIS_PORT = Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379);
const SECRET = 'faults-test-callback-secret';

/** Frames exactly once: indices 0..n-1, no gaps or duplicates, progress and summary agree. */
async function assertEveryFrameOnce(base: string, token: string, job: any, times: number[]) {
  const n = times.length;
  assert.equal(job.status, 'completed', `job ${job.status}: ${job.error}`);
  assert.equal(job.progress.framesTotal, n);
  assert.equal(job.progress.framesDone, n);
  assert.equal(job.summary.framesAnalysed, n);
  const { frames } = await allFramesPaged(base, token, job.id, '', 500);
  assert.deepEqual(
    frames.map((f) => f.frameIndex),
    Array.from({ length: n }, (_, i) => i),
  );
  for (let i = 0; i < n; i++)
    assert.ok(Math.abs(frames[i].timestamp - times[i]) < 1e-6, `frame ${i} timestamp`);
  assert.ok(
    frames.filter((f) => f.timestamp < n / 20).some((f) => f.detections.some((d) => d.label === 'person')),
    'person found',
  );
  return frames;
}

/** A TCP proxy to Redis that the test can cut and restore. */
function redisProxy() {
  const sockets = new Set<Socket>();
  let server: NetServer;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(REDIS_PORT, '127.0.0.1');
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  return {
    listen,
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    async cut() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A local HTTP receiver for job callbacks: answers `statuses` in turn (then 200). */
function callbackReceiver(statuses: number[] = []) {
  const received: { headers: IncomingMessage['headers']; body: string; path: string; answered: number }[] =
    [];
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (b) => (body += b));
    req.on('end', () => {
      const answered = statuses.shift() ?? 200;
      received.push({ headers: req.headers, body, path: req.url ?? '', answered });
      res.writeHead(answered).end();
    });
  });
  return {
    received,
    listen: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () =>
          r(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
        ),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function verifySignature(r: { headers: IncomingMessage['headers']; body: string }) {
  const ts = String(r.headers['x-webdetector-timestamp']);
  assert.match(ts, /^\d+$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 120, 'timestamp is now');
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex')}`;
  const got = String(r.headers['x-webdetector-signature']);
  assert.ok(
    got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected)),
    'valid HMAC signature',
  );
  // and a tampered body does not verify
  const forged = `sha256=${createHmac('sha256', SECRET)
    .update(`${ts}.${r.body.replace('"status"', '"Status"')}`)
    .digest('hex')}`;
  assert.notEqual(got, forged);
}

/**
 * A video that probes fine (every packet listed) but whose media data is garbage from `fraction`
 * of the way on (0.5: the second half; 0: all of it): the decoder stops producing frames there.
 */
async function halfCorruptVideo(fraction = 0.5): Promise<string> {
  const src = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 2, gop: 10 });
  const buf = Buffer.from(readFileSync(src));
  const mdat = buf.indexOf(Buffer.from('mdat'));
  const moov = buf.indexOf(Buffer.from('moov'));
  assert.ok(mdat > 0 && moov > mdat, 'moov after mdat');
  for (let i = mdat + 8 + Math.floor((moov - mdat) * fraction); i < moov - 16; i++)
    buf[i] = (i * 7919) & 0xff;
  const out = join(mkdtempSync(join(tmpdir(), 'wd-corrupt-')), 'corrupt.mp4');
  writeFileSync(out, buf);
  // the premise: ffprobe accepts it and lists all 40 frames; ffmpeg decodes fewer
  if (fraction === 0) return out; // nothing decodes: the premise below is for a half-good file
  const times = await ffprobeFrameTimes(out).catch(() => [] as number[]);
  assert.ok(times.length >= 20, `ffprobe still reads it (${times.length} frames)`);
  const ffmpeg = makerFfmpeg();
  const dec = await runProgram(ffmpeg, [
    '-v',
    'error',
    '-i',
    out,
    '-vsync',
    'passthrough',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    '-',
  ]);
  assert.ok(dec.stdout.length / (320 * 180) < 40, 'ffmpeg cannot decode every frame');
  assert.match(dec.stderr, /Invalid|error/i);
  return out;
}

/** The job's tracks agree with its frames (tracks-checks.ts), read back over HTTP. */
async function assertTracked(base: string, token: string, job: any) {
  const other = await registerAndLogin(base);
  const { frames } = await allFramesPaged(base, token, job.id, 'includeNoise=true', 1000);
  await checkTracks(base, token, job, frames as TrackedFrame[], other.accessToken);
}

describe('distributed faults', () => {
  let topo: Topology;
  let proxy: ReturnType<typeof redisProxy>;
  let token: string;
  let video: string;
  let times: number[];

  before(async () => {
    proxy = redisProxy();
    await proxy.listen();
    video = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 3, gop: 10 });
    times = await ffprobeFrameTimes(video);
    assert.equal(times.length, 60);
    topo = await startTopology({
      REDIS_URL: proxy.url,
      CHUNK_SECONDS: '1',
      DETECTOR_THREADS: '1',
      DETECTOR_BATCH_SIZE: '2',
      QUEUE_LOCK_MS: '2000',
      QUEUE_STALLED_MS: '1000',
      TASK_ATTEMPTS: '2',
      TASK_BACKOFF_MS: '200',
      CALLBACK_ALLOWLIST: '127.0.0.1',
      CALLBACK_SECRET: SECRET,
      CALLBACK_RETRY_DELAYS: '1', // the schedule itself is unit-tested: here, a quick retry
      ARGON2_MEMORY_KIB: '4096',
      ARGON2_TIME_COST: '1',
    });
    token = (await registerAndLogin(topo.url)).accessToken;
  });

  after(async () => {
    await topo?.stop();
    await proxy?.close();
  });

  test('a detector worker SIGKILLed mid-chunk: its chunk is taken up again, every frame exactly once', async () => {
    const up = await upload(topo.url, token, video);
    assert.equal(up.status, 202, up.text);
    const id = up.body.job.id;
    // wait until both detectors are inside a chunk, so the one killed is mid-chunk
    const deadline = Date.now() + 60_000;
    let running: any[] = [];
    for (;;) {
      running = await topo.query(
        "select chunk_index from job_chunks where job_id = $1 and status = 'running'",
        [id],
      );
      const [j] = await topo.query('select frames_done, frames_total from jobs where id = $1', [id]);
      if (running.length === 2 && j.frames_done > 0 && j.frames_done < j.frames_total) break;
      assert.ok(Date.now() < deadline, 'both detectors never ran at once');
      await sleep(20);
    }
    const victim = topo.pids.detectors[0];
    process.kill(victim, 'SIGKILL');
    // the process is gone once its parent has reaped it (a loaded machine may take a moment)
    for (let i = 0; i < 100 && isAlive(victim); i++) await sleep(50);
    assert.equal(isAlive(victim), false);
    // the killed worker's chunk comes back after QUEUE_LOCK_MS=2000 (BullMQ's stalled check)
    const job = await waitForJob(topo.url, token, id, { timeoutMs: 90_000 });
    await assertEveryFrameOnce(topo.url, token, job, times);
    const [rows] = await topo.query(
      'select count(*)::int as n, count(distinct frame_index)::int as d from frames where job_id = $1',
      [id],
    );
    assert.deepEqual(rows, { n: 60, d: 60 });
    const chunks = await topo.query(
      'select chunk_index, status, attempts from job_chunks where job_id = $1 order by chunk_index',
      [id],
    );
    assert.ok(chunks.every((c) => c.status === 'done'));
    // the killed worker's chunk ran a second time (stalled-job detection), nothing else did
    const rerun = chunks.filter((c) => c.attempts >= 2);
    assert.equal(rerun.length, 1, JSON.stringify(chunks));
    assert.ok(
      running.some((r) => r.chunk_index === rerun[0].chunk_index),
      'the rerun chunk is one that was running at the kill',
    );
    // the rerun chunk was tracked once, in order: tracks agree with the frames, none twice
    await assertTracked(topo.url, token, job);
    const [tracked] = await topo.query('select next_chunk from tracker_states where job_id = $1', [id]);
    assert.equal(tracked.next_chunk, chunks.length);
  });

  test('Redis unreachable for 3 s mid-job: the job still completes, every frame once', async () => {
    const up = await upload(topo.url, token, video);
    assert.equal(up.status, 202, up.text);
    const id = up.body.job.id;
    await waitForJob(topo.url, token, id, { pollMs: 20, until: (j) => j.progress.framesDone > 0 });
    await proxy.cut();
    const t0 = Date.now();
    // the API notices: readiness reports the queue down (the database is still up)
    const ready = await call(topo.url, 'GET', '/readyz');
    assert.equal(ready.status, 503, ready.text);
    await sleep(Math.max(0, 3000 - (Date.now() - t0)));
    await proxy.listen();
    const job = await waitForJob(topo.url, token, id, { timeoutMs: 90_000 });
    await assertEveryFrameOnce(topo.url, token, job, times);
    const [rows] = await topo.query('select count(*)::int as n from frames where job_id = $1', [id]);
    assert.equal(rows.n, 60);
    const readyAgain = await waitForReady(topo.url);
    assert.equal(readyAgain, 200);
  });

  test('a video that probes but fails to decode half-way: completed with what decoded, the rest skipped with a reason', async () => {
    const corrupt = await halfCorruptVideo(0.5);
    const up = await upload(topo.url, token, corrupt);
    assert.equal(up.status, 202, up.text);
    const job = await waitForJob(topo.url, token, up.body.job.id, { timeoutMs: 60_000 });
    assert.equal(job.status, 'completed', job.error ?? '');
    const { framesDone, framesSkipped, framesTotal } = job.progress;
    assert.ok(framesDone > 0 && framesSkipped > 0, JSON.stringify(job.progress));
    assert.equal(framesDone + framesSkipped, framesTotal);
    assert.ok(job.warnings.length > 0);
    for (const w of job.warnings as string[]) {
      assert.match(w, /^\d+ of \d+ frames? could not be decoded[^\n]*\.$/, w);
      assert.doesNotMatch(w, /\/(tmp|work|home|var)\/|\.mp4/, w);
    }
    // every frame that decoded is there once
    const [rows] = await topo.query(
      'select count(*)::int as n, count(distinct frame_index)::int as d from frames where job_id = $1',
      [job.id],
    );
    assert.deepEqual(rows, { n: framesDone, d: framesDone });
  });

  test('a video of which no frame decodes: failed, with a readable reason and a callback', async () => {
    const corrupt = await halfCorruptVideo(0);
    const rx = callbackReceiver();
    const cbBase = await rx.listen();
    try {
      const up = await upload(topo.url, token, corrupt, { callbackUrl: `${cbBase}/failed` });
      assert.equal(up.status, 202, up.text);
      const job = await waitForJob(topo.url, token, up.body.job.id, { timeoutMs: 60_000 });
      assert.equal(job.status, 'failed');
      assert.equal(job.summary, null);
      assert.ok(job.finishedAt);
      const err: string = job.error;
      assert.match(err, /^[A-Z][^\n]{10,300}\.$/, `one sentence: ${err}`);
      assert.doesNotMatch(err, /\/(tmp|work|home|var)\/|\.mp4|\.ts:\d|\n\s+at /, `no path or stack: ${err}`);
      assert.match(err, /^No frame of the video could be decoded/);
      // it never claimed completed, and the failure is final
      await sleep(1000);
      const again = (await call(topo.url, 'GET', `/v1/jobs/${job.id}`, { token })).body.job;
      assert.equal(again.status, 'failed');
      // every chunk ran to its end and recorded its frames as skipped
      const chunks = await topo.query('select status, frames_skipped from job_chunks where job_id = $1', [
        job.id,
      ]);
      assert.ok(
        chunks.every((c) => c.status === 'done' && c.frames_skipped > 0),
        JSON.stringify(chunks),
      );
      // the failure callback, signed, carries the same reason
      const deadline = Date.now() + 20_000;
      while (rx.received.length === 0 && Date.now() < deadline) await sleep(100);
      assert.equal(rx.received.length, 1);
      verifySignature(rx.received[0]);
      const body = JSON.parse(rx.received[0].body);
      assert.equal(body.jobId, job.id);
      assert.equal(body.status, 'failed');
      assert.equal(body.error, err);
    } finally {
      await rx.close();
    }
  });

  test('a completion callback is signed and retried after a 500', async () => {
    const rx = callbackReceiver([500]);
    const cbBase = await rx.listen();
    try {
      const short = await personThenCupVideo({
        width: 320,
        height: 180,
        fps: 10,
        segmentSeconds: 1,
        gop: 10,
      });
      const up = await upload(topo.url, token, short, { callbackUrl: `${cbBase}/hook?x=1` });
      assert.equal(up.status, 202, up.text);
      const job = await waitForJob(topo.url, token, up.body.job.id, { timeoutMs: 60_000 });
      assert.equal(job.status, 'completed', job.error);
      const deadline = Date.now() + 30_000;
      while (rx.received.length < 2 && Date.now() < deadline) await sleep(100);
      await sleep(2500); // nothing more after the successful delivery
      assert.deepEqual(
        rx.received.map((r) => [r.path, r.answered]),
        [
          ['/hook?x=1', 500],
          ['/hook?x=1', 200],
        ],
      );
      for (const r of rx.received) {
        verifySignature(r);
        assert.equal(r.headers['content-type'], 'application/json');
        const body = JSON.parse(r.body);
        assert.equal(body.jobId, job.id);
        assert.equal(body.status, 'completed');
        assert.equal(body.error, null);
        assert.equal(body.framesAnalysed, 20);
        assert.equal(body.links.self, `/v1/jobs/${job.id}`);
      }
    } finally {
      await rx.close();
    }
  });
});

async function waitForReady(base: string): Promise<number> {
  let status = 0;
  for (let i = 0; i < 50; i++) {
    status = (await call(base, 'GET', '/readyz')).status;
    if (status === 200) break;
    await sleep(200);
  }
  return status;
}

describe('standalone server killed mid-job', () => {
  const procs: ChildProcess[] = [];
  let dataDir: string;

  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function startServe(port: number): Promise<ChildProcess> {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        CHUNK_SECONDS: '1',
        DETECTOR_THREADS: '1',
        DETECTOR_BATCH_SIZE: '2',
        LOG_LEVEL: 'warn',
        REDIS_URL: '',
        DATABASE_URL: '',
        ARGON2_MEMORY_KIB: '4096',
        ARGON2_TIME_COST: '1',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (b) => (err += b));
    procs.push(p);
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.ok(p.exitCode === null, `serve exited: ${err}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return p;
      } catch {}
      assert.ok(Date.now() < deadline, `serve did not start: ${err}`);
      await sleep(200);
    }
  }

  test('SIGKILL then restart on the same DATA_DIR: the job completes, every frame once', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wd-faults-standalone-'));
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    const base = `http://127.0.0.1:${port}`;
    const video = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 3, gop: 10 });
    const times = await ffprobeFrameTimes(video);
    const first = await startServe(port);
    const { accessToken } = await registerAndLogin(base);
    const up = await upload(base, accessToken, video);
    assert.equal(up.status, 202, up.text);
    const id = up.body.job.id;
    const mid = await waitForJob(base, accessToken, id, {
      pollMs: 20,
      until: (j) => j.progress.framesDone > 0,
    });
    assert.ok(mid.progress.framesDone < mid.progress.framesTotal, 'killed mid-job');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await startServe(port);
    const job = await waitForJob(base, accessToken, id, { timeoutMs: 90_000 });
    await assertEveryFrameOnce(base, accessToken, job, times);
    assert.ok(job.progress.chunksDone === job.progress.chunksTotal);
    // the restart resumed tracking too (resumeUnfinished queues it): the job's tracks are whole
    await assertTracked(base, accessToken, job);
  });
});
