import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signCallback } from '../../src/pipeline/callbacks.js';
import { personThenCupVideo } from '../helpers/content.js';
import { call, registerAndLogin, upload } from '../helpers/http.js';
import { sleep, waitForJob } from '../integration/pipeline/checks.js';
import { isAlive, startTopology, type Topology } from '../integration/pipeline/topology.js';

/**
 * A chunk whose detector worker is SIGKILLed every time it analyses it: the job must not stay
 * `processing` for good. The topology (API, processor, one detector; real PostgreSQL, Redis,
 * ffmpeg and model) runs with TASK_ATTEMPTS=2; this test kills the detector on chunk X, starts a
 * second detector, kills it too when it takes chunk X up again, and starts no third one. No
 * worker is left to see the task stall again or fail it, so BullMQ's own failure path never runs:
 * the watchdog (in the processor, every 0.5 s) must fail the job, with a sentence and one signed
 * failure callback. A detector started afterwards must not bring the job back.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = 'watchdog-test-callback-secret';
const JWT_SECRET = randomBytes(32).toString('base64url');
const ENV = {
  CHUNK_SECONDS: '1',
  DETECTOR_THREADS: '1',
  DETECTOR_BATCH_SIZE: '1',
  QUEUE_LOCK_MS: '2000',
  QUEUE_STALLED_MS: '1000',
  TASK_ATTEMPTS: '2',
  TASK_BACKOFF_MS: '200',
  WATCHDOG_INTERVAL_SECONDS: '0.5',
  CALLBACK_ALLOWLIST: '127.0.0.1',
  CALLBACK_SECRET: SECRET,
  CALLBACK_RETRY_DELAYS: '1',
  JWT_SECRET,
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

let topo: Topology;
const extra: ChildProcess[] = [];
const received: { headers: IncomingMessage['headers']; body: string }[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (b) => (body += b));
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});

/** Another detector worker on the topology's database, Redis prefix and storage. */
async function startDetector(): Promise<ChildProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker', '--queues', 'detect'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...ENV,
      DATABASE_URL: topo.databaseUrl,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: topo.prefix,
      DATA_DIR: topo.dataDir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  extra.push(p);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('detector did not start in 60 s')), 60_000);
    createInterface({ input: p.stdout! }).on('line', (line) => {
      if (line.includes('web-detector worker is running')) {
        clearTimeout(t);
        resolve();
      }
    });
    p.once('exit', (code) => reject(new Error(`detector exited (${code})`)));
  });
  return p;
}

/** Polls until chunk `index` (or any chunk, when null) runs with `attempts`; returns its index. */
async function waitRunning(jobId: string, index: number | null, attempts: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await topo.query<{ chunk_index: number }>(
      `select chunk_index from job_chunks where job_id = $1 and status = 'running' and attempts = $2
       and ($3::int is null or chunk_index = $3) order by chunk_index limit 1`,
      [jobId, attempts, index],
    );
    if (rows.length > 0) return rows[0].chunk_index;
    assert.ok(Date.now() < deadline, `chunk ${index ?? 'any'} never ran a run #${attempts}`);
    await sleep(20);
  }
}

async function kill(p: ChildProcess | number) {
  const pid = typeof p === 'number' ? p : p.pid!;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
  assert.equal(isAlive(pid), false);
}

before(async () => {
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  topo = await startTopology(ENV, ['--detectors', '1']);
});

after(async () => {
  for (const p of extra) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await topo?.stop();
  await new Promise<void>((r) => receiver.close(() => r()));
});

test('a chunk that kills its worker every time fails its job (watchdog), once, with a sentence', async () => {
  const { accessToken: token } = await registerAndLogin(topo.url);
  const video = await personThenCupVideo({ width: 320, height: 180, fps: 10, segmentSeconds: 2, gop: 10 });
  const port = (receiver.address() as { port: number }).port;
  const up = await upload(topo.url, token, video, { callbackUrl: `http://127.0.0.1:${port}/hook` });
  assert.equal(up.status, 202, up.text);
  const id = up.body.job.id;

  // run 1 of chunk X: kill the only detector
  const x = await waitRunning(id, null, 1);
  await kill(topo.pids.detectors[0]);
  // run 2 of the same chunk, on a new detector (after its lock expired and the stall was seen)
  const second = await startDetector();
  await waitRunning(id, x, 2);
  await kill(second);

  // JOB_STALL_SECONDS is the default hour: only the exhausted-chunk rule can fail it in 30 s
  const job = await waitForJob(topo.url, token, id, { timeoutMs: 30_000 });
  assert.equal(job.status, 'failed', `job ${job.status}: ${job.error}`);
  assert.equal(
    job.error,
    `Analysis failed in chunk ${x}: it was started 2 times and its worker stopped each time.`,
  );
  const [chunk] = await topo.query(
    'select status, attempts from job_chunks where job_id = $1 and chunk_index = $2',
    [id, x],
  );
  assert.deepEqual(chunk, { status: 'failed', attempts: 2 });

  // one signed failure callback
  for (let i = 0; i < 100 && received.length === 0; i++) await sleep(100);
  assert.equal(received.length, 1);
  const ts = Number(received[0].headers['x-webdetector-timestamp']);
  assert.equal(received[0].headers['x-webdetector-signature'], signCallback(SECRET, ts, received[0].body));
  assert.deepEqual((({ jobId, status, error }) => ({ jobId, status, error }))(JSON.parse(received[0].body)), {
    jobId: id,
    status: 'failed',
    error: job.error,
  });

  // a detector coming back takes the stalled task up again: it must find the job failed and stop
  await startDetector();
  await sleep(6000);
  const again = (await call(topo.url, 'GET', `/v1/jobs/${id}`, { token })).body.job;
  assert.equal(again.status, 'failed');
  assert.equal(again.error, job.error);
  assert.equal(received.length, 1, 'no second callback');
});
