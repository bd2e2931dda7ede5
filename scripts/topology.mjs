#!/usr/bin/env node
// Starts the distributed topology on this machine, as separate processes sharing PostgreSQL, Redis
// and a storage folder:
//   api        web-detector serve --no-workers
//   processor  web-detector worker --queues process,track,finalize,notify
//   detectors  N x web-detector worker --queues detect            (default N = 2)
//
// Usage: node scripts/topology.mjs [--detectors N] [--port P] [--verbose]
// Environment (all optional):
//   DATABASE_URL   use this database (migrated, kept); without it a fresh database wd_topo_<random>
//                  is created on TEST_DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/test)
//                  and dropped on exit
//   REDIS_URL      default redis://127.0.0.1:6379
//   QUEUE_PREFIX   default wdtopo-<random>; its keys are deleted on exit
//   DATA_DIR       shared storage; default a temp folder, removed on exit
//   anything else (CHUNK_SECONDS, QUEUE_LOCK_MS, TASK_ATTEMPTS, CALLBACK_ALLOWLIST, ...) is passed on.
//
// When every process is ready it prints ONE line of JSON to stdout:
//   {"url":"http://127.0.0.1:P","databaseUrl":"...","redisUrl":"...","prefix":"...","dataDir":"...",
//    "pids":{"api":1,"processor":2,"detectors":[3,4]}}
// The processes' logs go to stderr (warnings and errors only, unless --verbose). SIGINT/SIGTERM stops
// them all (SIGTERM, then SIGKILL after 15 s) and cleans up what this script created.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

const root = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv) {
  const out = { detectors: 2, port: undefined, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--verbose') out.verbose = true;
    else if (a === '--detectors') out.detectors = Number(argv[++i]);
    else if (a === '--port') out.port = Number(argv[++i]);
    else {
      process.stderr.write(`topology: unknown option ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(out.detectors) || out.detectors < 1) {
    process.stderr.write('topology: --detectors must be a positive integer\n');
    process.exit(2);
  }
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const args = parseArgs(process.argv.slice(2));
const tag = randomBytes(4).toString('hex');
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX || `wdtopo-${tag}`;
const ownsPrefix = !process.env.QUEUE_PREFIX;
const dataDir = process.env.DATA_DIR || mkdtempSync(join(tmpdir(), 'wd-topo-'));
const ownsDataDir = !process.env.DATA_DIR;
const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
let databaseUrl = process.env.DATABASE_URL;
let createdDb;

const children = [];
let stopping = false;

function log(msg) {
  process.stderr.write(`topology: ${msg}\n`);
}

async function adminQuery(text) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

async function cleanup() {
  if (createdDb)
    await adminQuery(`drop database if exists ${createdDb} with (force)`).catch((e) =>
      log(`could not drop ${createdDb}: ${e.message}`),
    );
  if (ownsPrefix) {
    const r = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    r.on('error', () => {});
    try {
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } catch (e) {
      log(`could not delete the queue keys: ${e.message}`);
    } finally {
      r.disconnect();
    }
  }
  if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const alive = children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
  for (const c of alive) c.proc.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const c of alive) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  }, 15_000);
  await Promise.all(
    alive.map(
      (c) =>
        new Promise((r) =>
          c.proc.exitCode !== null || c.proc.signalCode !== null ? r() : c.proc.once('exit', r),
        ),
    ),
  );
  clearTimeout(killer);
  await cleanup();
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function start(name, argv, env, readyLine) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...argv], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = { name, proc };
  children.push(child);
  const ready = new Promise((resolve, reject) => {
    const onLine = (line) => {
      let level = 30;
      let msg = line;
      try {
        const j = JSON.parse(line);
        level = j.level ?? 30;
        msg = j.msg ?? line;
      } catch {
        level = 50; // not JSON: a crash or a configuration error
      }
      if (args.verbose || level >= 40) process.stderr.write(`[${name} ${proc.pid}] ${line}\n`);
      if (msg === readyLine) resolve();
    };
    createInterface({ input: proc.stdout }).on('line', onLine);
    createInterface({ input: proc.stderr }).on('line', onLine);
    proc.once('exit', (code, signal) => {
      reject(new Error(`${name} exited before it was ready (${signal ?? code})`));
      if (!stopping) log(`${name} (pid ${proc.pid}) exited: ${signal ?? `code ${code}`}`);
    });
  });
  return { child, ready };
}

async function run(env, argv) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...argv], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const code = await new Promise((r) => proc.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with code ${code}`);
}

try {
  if (!databaseUrl) {
    createdDb = `wd_topo_${tag}`;
    await adminQuery(`create database ${createdDb}`);
    const u = new URL(adminUrl);
    u.pathname = `/${createdDb}`;
    databaseUrl = u.toString();
  }
  const port = args.port ?? (process.env.PORT ? Number(process.env.PORT) : await freePort());
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    JWT_SECRET: process.env.JWT_SECRET || randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(port),
  };
  await run(env, ['migrate']);
  const api = start('api', ['serve', '--no-workers'], env, 'web-detector is serving');
  const processor = start(
    'processor',
    ['worker', '--queues', 'process,track,finalize,notify'],
    env,
    'web-detector worker is running',
  );
  const detectors = Array.from({ length: args.detectors }, (_, i) =>
    start(
      `detector${i + 1}`,
      ['worker', '--queues', 'detect', '--concurrency', '1'],
      env,
      'web-detector worker is running',
    ),
  );
  await Promise.all([api.ready, processor.ready, ...detectors.map((d) => d.ready)]);
  process.stdout.write(
    `${JSON.stringify({
      url: `http://127.0.0.1:${port}`,
      databaseUrl,
      redisUrl,
      prefix,
      dataDir,
      pids: {
        api: api.child.proc.pid,
        processor: processor.child.proc.pid,
        detectors: detectors.map((d) => d.child.proc.pid),
      },
    })}\n`,
  );
} catch (e) {
  log(`failed to start: ${e.message}`);
  await stopAll(1);
}
