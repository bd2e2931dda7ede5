/**
 * 500 open event streams and the latency of everything else (issue 10): p50/p99 of
 * GET /v1/jobs/:id with and without STREAMS open SSE streams, for this checkout ("after": one
 * shared read per tick for all streams) and another checkout's code ("before": one poll per
 * connection), side by side in one run: both servers up at once, measured in alternating order
 * over ROUNDS rounds (streams opened for a measurement and closed after it), medians reported.
 * The servers are child processes without workers (bench/sse-server.ts), so the jobs stay queued,
 * every stream stays open and no inference competes for the CPU. PGlite (the standalone default)
 * or PostgreSQL. Loopback only; bounded in count and time.
 *
 * Usage (under the benchmark lock):
 *   flock /tmp/wd-bench.lock node --import tsx bench/sse.ts [--before /work/main] [--db pglite]
 *     [--streams 500] [--jobs 50] [--duration 10] [--rounds 3] [--connections 10]
 */
import { fileURLToPath } from 'node:url';
import { smallVideo } from '../test/helpers/media.js';
import { type ChildServer, median, registerAndLogin, startChildServer } from './api-common.js';
import { uploadVideo } from './common/http.js';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
const autocannon = (await import('autocannon' as string)).default as (
  opts: object,
) => Promise<AutocannonResult>;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const BEFORE_ROOT = arg('before', '/work/main');
const STREAMS = Math.min(2000, Number(arg('streams', '500')));
const JOBS = Math.max(1, Math.min(STREAMS, Number(arg('jobs', '50'))));
const DURATION = Math.min(60, Number(arg('duration', '10')));
const CONNECTIONS = Number(arg('connections', '10'));
const ROUNDS = Math.max(1, Math.min(10, Number(arg('rounds', '3'))));
const DB = arg('db', 'pglite') === 'postgres' ? 'postgres' : 'pglite';
const SERVER_SCRIPT = fileURLToPath(new URL('./sse-server.ts', import.meta.url));

interface Measure {
  rps: number;
  p50: number;
  p99: number;
}

async function measure(url: string, token: string): Promise<Measure> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    headers: { authorization: `Bearer ${token}` },
  });
  if (r.non2xx || r.errors) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

/** Opens `n` event streams spread over `paths`; resolves once every one has answered 200. */
async function openStreams(base: string, token: string, paths: string[], n: number) {
  const controllers: AbortController[] = [];
  const opened = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const abort = new AbortController();
      controllers.push(abort);
      const res = await fetch(`${base}${paths[i % paths.length]}/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: abort.signal,
      });
      if (res.status !== 200) throw new Error(`stream ${i}: ${res.status} ${await res.text()}`);
      // read (and drop) what arrives, as a client would
      void (async () => {
        try {
          for await (const _ of res.body as unknown as AsyncIterable<Uint8Array>) {
          }
        } catch {}
      })();
      return res;
    }),
  );
  return {
    count: opened.length,
    close() {
      for (const c of controllers) c.abort();
    },
  };
}

interface Variant {
  name: string;
  srv: ChildServer;
  token: string;
  paths: string[];
  idle: Measure[];
  loaded: Measure[];
}

async function prepare(name: string, root: string | undefined): Promise<Variant> {
  const srv = await startChildServer(
    DB,
    { USER_MAX_EVENT_STREAMS: String(STREAMS + 10) }, // the "after" cap would refuse one user's 500 streams
    { root, argv: [SERVER_SCRIPT, root ?? fileURLToPath(new URL('..', import.meta.url))] },
  );
  const token = await registerAndLogin(srv.url);
  const video = await smallVideo(2);
  const paths: string[] = [];
  for (let i = 0; i < JOBS; i++) paths.push(`/v1/jobs/${await uploadVideo(srv.url, token, video)}`);
  await measure(`${srv.url}${paths[0]}`, token); // warm-up
  return { name, srv, token, paths, idle: [], loaded: [] };
}

async function round(v: Variant, n: number): Promise<void> {
  const target = `${v.srv.url}${v.paths[0]}`;
  const idle = await measure(target, v.token);
  const streams = await openStreams(v.srv.url, v.token, v.paths, STREAMS);
  await new Promise((r) => setTimeout(r, 2000)); // every stream past its first ticks
  const loaded = await measure(target, v.token);
  streams.close();
  await new Promise((r) => setTimeout(r, 1000)); // the server lets go of them
  v.idle.push(idle);
  v.loaded.push(loaded);
  console.error(
    `round ${n} ${v.name}: 0 streams ${idle.rps.toFixed(0)} req/s p99 ${idle.p99} ms; ` +
      `${streams.count} streams ${loaded.rps.toFixed(0)} req/s p99 ${loaded.p99} ms`,
  );
}

const mid = (ms: Measure[]): Measure => ({
  rps: median(ms.map((m) => m.rps)),
  p50: median(ms.map((m) => m.p50)),
  p99: median(ms.map((m) => m.p99)),
});

const variants = [await prepare('before', BEFORE_ROOT), await prepare('after', undefined)];
try {
  for (let n = 1; n <= ROUNDS; n++) {
    for (const v of n % 2 ? variants : [...variants].reverse()) await round(v, n);
  }
} finally {
  for (const v of variants) await v.srv.stop();
}

console.log(
  `\nGET /v1/jobs/:id (${DB}), ${CONNECTIONS} connections for ${DURATION} s, with and without ${STREAMS} open ` +
    `event streams of one user over ${JOBS} queued jobs; medians of ${ROUNDS} interleaved rounds:\n`,
);
// the machine's load drifts between rounds: the ratio within a round (streams / none, measured
// back to back on the same server) is the figure to compare
console.log('| code | streams | requests/s | p50 (ms) | p99 (ms) | p99 with / without (per round, median) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const v of variants) {
  const idle = mid(v.idle);
  const loaded = mid(v.loaded);
  const ratio = median(v.loaded.map((m, i) => m.p99 / Math.max(1, v.idle[i].p99)));
  console.log(`| ${v.name} | 0 | ${idle.rps.toFixed(0)} | ${idle.p50} | ${idle.p99} | |`);
  console.log(
    `| ${v.name} | ${STREAMS} | ${loaded.rps.toFixed(0)} | ${loaded.p50} | ${loaded.p99} | ${ratio.toFixed(2)}x |`,
  );
}
