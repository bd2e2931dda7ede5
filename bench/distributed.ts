/**
 * Distributed mode on this machine: the API (`serve --no-workers`), a CPU worker for
 * process/finalize/notify and a worker for detect run as separate processes on a fresh
 * PostgreSQL database (wd_bench_<random>, dropped at the end) and this machine's Redis under a
 * unique QUEUE_PREFIX (only that prefix's keys are deleted at the end; Redis is never flushed).
 * A short real-content video is uploaded over HTTP, `--jobs` times; for each job: bytes through
 * Redis per analysed frame (INFO stats total_net_input_bytes + total_net_output_bytes, before the
 * upload and at `completed`: server-wide, so other users of this Redis add to it), the same counted
 * exactly by a byte-counting TCP proxy that only our three processes connect through (REDIS_URL
 * points at it), with our own idle traffic (workers waiting for tasks) over a window before each job, and the task payload bytes (what the queue adapter's
 * payloadBytes() counts: JSON of every enqueued payload). Each process's peak RSS: VmRSS sampled
 * every 100 ms and VmHWM at the end.
 *
 * Usage: node --import tsx bench/distributed.ts [--jobs 3] [--idle-ms 5000] [--seconds 4]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteQueueKeys } from '../src/queue/bullmq.js';
import { freePort } from './api-common.js';
import { FINISHED, getJob, registerAndLogin, uploadVideo } from './common/http.js';
import { fmt, machineLine, median, nowMs, sleep, table } from './common/stats.js';
import { contentVideo } from './common/video.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '3' },
    'idle-ms': { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '4' },
    'chunk-seconds': { type: 'string', default: '1' },
  },
});
const jobs = Number(values.jobs);
const idleMs = Number(values['idle-ms']);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const target = new URL(REDIS_URL);

// every byte between our processes and Redis goes through here
let proxied = 0;
const proxy = createServer((c) => {
  const u = createConnection(Number(target.port || 6379), target.hostname);
  c.on('data', (b) => (proxied += b.length));
  u.on('data', (b) => (proxied += b.length));
  c.pipe(u);
  u.pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.on('close', () => u.destroy());
  u.on('close', () => c.destroy());
});
await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
const proxyAddr = proxy.address();
const proxyUrl = `redis://127.0.0.1:${typeof proxyAddr === 'object' && proxyAddr ? proxyAddr.port : 0}`;
const root = new URL('..', import.meta.url).pathname;

const video = await contentVideo(Number(values.seconds), 1280, 720, 30);
const id = randomBytes(5).toString('hex');
const dbName = `wd_bench_${id}`;
const prefix = `wdbench_${id}`;
const dataDir = mkdtempSync(join(tmpdir(), 'wd-bench-dist-'));
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database ${dbName}`);
await admin.end();
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${dbName}`;
const port = await freePort();
const env = {
  ...process.env,
  NODE_ENV: 'production',
  JWT_SECRET: randomBytes(32).toString('hex'),
  DATA_DIR: dataDir,
  DATABASE_URL: dbUrl.toString(),
  REDIS_URL: proxyUrl,
  QUEUE_PREFIX: prefix,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  CHUNK_SECONDS: values['chunk-seconds'],
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
};

interface Proc {
  name: string;
  child: ChildProcess;
  ready: Promise<void>;
  peakRss: number; // kB, sampled
  log: string;
}
function start(name: string, args: string[], readyText: string): Proc {
  // node runs src/main.ts through tsx in this process, so the child's pid is the role's pid
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { name, child, ready: Promise.resolve(), peakRss: 0, log: '' };
  p.ready = new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      p.log = (p.log + b.toString()).slice(-20_000);
      if (p.log.includes(readyText)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${p.log.slice(-2000)}`)));
  });
  p.ready.catch(() => {});
  return p;
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
async function redisBytes(): Promise<number> {
  const info = await redis.info('stats');
  const get = (k: string) => Number(info.match(new RegExp(`^${k}:(\\d+)`, 'm'))?.[1] ?? 0);
  return get('total_net_input_bytes') + get('total_net_output_bytes');
}

const procs: Proc[] = [];
let sampler: NodeJS.Timeout | undefined;
try {
  const api = start('API (serve --no-workers)', ['serve', '--no-workers'], 'web-detector is serving');
  procs.push(api);
  await api.ready;
  const w1 = start(
    'worker --queues process,finalize,notify',
    ['worker', '--queues', 'process,track,finalize,notify'],
    'worker is running',
  );
  const w2 = start('worker --queues detect', ['worker', '--queues', 'detect'], 'worker is running');
  procs.push(w1, w2);
  await Promise.all([w1.ready, w2.ready]);
  sampler = setInterval(() => {
    for (const p of procs) if (p.child.pid) p.peakRss = Math.max(p.peakRss, procStatus(p.child.pid, 'VmRSS'));
  }, 100);
  const base = `http://127.0.0.1:${port}`;
  const token = await registerAndLogin(base);

  const rows: string[][] = [];
  const perFrame: number[] = [];
  const perFrameNet: number[] = [];
  const payloadPerFrame: number[] = [];
  const serverPerFrame: number[] = [];
  for (let j = 0; j < jobs; j++) {
    // the idle window: our processes up and waiting for tasks
    const p0 = proxied;
    const ti = nowMs();
    await sleep(idleMs);
    const idleRate = (proxied - p0) / (nowMs() - ti); // our own bytes per ms while idle
    const b0 = await redisBytes();
    const q0 = proxied;
    const t0 = nowMs();
    const jobId = await uploadVideo(base, token, video);
    let job = await getJob(base, token, jobId);
    while (!FINISHED.includes(job.status)) {
      await sleep(100);
      job = await getJob(base, token, jobId);
    }
    const ms = nowMs() - t0;
    const ours = proxied - q0;
    const server = (await redisBytes()) - b0;
    if (job.status !== 'completed') throw new Error(`job ${job.status}: ${job.error}`);
    const frames = job.progress?.framesDone ?? 0;
    const chunks = job.progress?.chunksTotal ?? 0;
    // exactly what BullmqTaskQueue.payloadBytes() adds up, for this job's enqueues
    const payload =
      Buffer.byteLength(JSON.stringify({ jobId })) * 2 + // process, finalize (no callback: no notify)
      Array.from({ length: chunks }, (_, c) =>
        Buffer.byteLength(JSON.stringify({ jobId, chunkIndex: c })),
      ).reduce((a, b) => a + b, 0);
    perFrame.push(ours / frames);
    perFrameNet.push((ours - idleRate * ms) / frames);
    payloadPerFrame.push(payload / frames);
    serverPerFrame.push(server / frames);
    rows.push([
      String(j + 1),
      `${frames} / ${chunks}`,
      fmt(ms / 1000),
      String(ours),
      fmt(ours / frames, 0),
      fmt(idleRate * 1000, 0),
      fmt((ours - idleRate * ms) / frames, 0),
      `${payload} (${fmt(payload / frames, 1)})`,
      `${server} (${fmt(server / frames, 0)})`,
    ]);
  }
  clearInterval(sampler);
  const hwm = procs.map((p) => (p.child.pid ? procStatus(p.child.pid, 'VmHWM') : 0));
  for (const p of procs) if (p.child.pid) p.peakRss = Math.max(p.peakRss, procStatus(p.child.pid, 'VmRSS'));

  console.log(
    `\nDistributed mode: API + 2 workers as processes, PostgreSQL ${dbName}, Redis ${REDIS_URL} prefix ${prefix}; video ${Number(values.seconds)} s 1280x720 30 fps real content, CHUNK_SECONDS=${values['chunk-seconds']}`,
  );
  console.log(`${machineLine()}; idle window ${idleMs} ms before each job\n`);
  console.log(
    table(
      [
        'job',
        'frames / chunks',
        'wall s',
        'our Redis bytes (proxy, both ways)',
        'B/frame',
        'our idle B/s',
        'B/frame minus our idle',
        'task payload bytes (B/frame)',
        'server-wide INFO delta, all users (B/frame)',
      ],
      rows,
    ),
  );
  console.log(
    `\nMedian Redis bytes per analysed frame (our processes, through the proxy): ${fmt(median(perFrame), 0)}; minus our idle polling ${fmt(median(perFrameNet), 0)} (target < 1024); task payloads ${fmt(median(payloadPerFrame), 1)}; server-wide INFO stats delta (every client of this Redis) ${fmt(median(serverPerFrame), 0)}.\n`,
  );
  console.log(
    table(
      ['process', 'pid', 'peak VmRSS sampled (MiB)', 'VmHWM (MiB)'],
      procs.map((p, i) => [p.name, String(p.child.pid), fmt(p.peakRss / 1024), fmt(hwm[i] / 1024)]),
    ),
  );
} finally {
  if (sampler) clearInterval(sampler);
  for (const p of procs.reverse()) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      await Promise.race([exited, sleep(25_000)]);
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
  }
  await deleteQueueKeys(REDIS_URL, prefix).catch(() => {});
  redis.disconnect();
  proxy.close();
  const a = new pg.Client({ connectionString: ADMIN_URL });
  await a.connect();
  await a.query(`drop database if exists ${dbName} with (force)`);
  await a.end();
  rmSync(dataDir, { recursive: true, force: true });
}
