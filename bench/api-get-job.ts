/**
 * GET /v1/jobs/:id throughput, PGlite vs PostgreSQL. Each server runs as a child process; the
 * two databases are interleaved over ROUNDS rounds of DURATION seconds with 50 connections.
 * Usage: node --import tsx bench/api-get-job.ts [durationSeconds=10] [rounds=3]
 */
import { openAsBlob } from 'node:fs';
import { smallVideo } from '../test/helpers/media.js';
import { type ChildServer, median, registerAndLogin, startChildServer } from './api-common.js';

interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number; p50: number };
  non2xx: number;
  errors: number;
}
const autocannon = (await import('autocannon' as string)).default as (
  opts: object,
) => Promise<AutocannonResult>;

const DURATION = Number(process.argv[2] ?? 10);
const ROUNDS = Number(process.argv[3] ?? 3);
const kinds = ['pglite', 'postgres'] as const;

async function prepare(kind: (typeof kinds)[number]) {
  const srv: ChildServer = await startChildServer(kind);
  const token = await registerAndLogin(srv.url);
  const form = new FormData();
  form.append('video', await openAsBlob(await smallVideo(2)), 'bench.mp4');
  const res = await fetch(`${srv.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${await res.text()}`);
  const { job } = (await res.json()) as { job: { id: string } };
  return { kind, srv, token, path: `/v1/jobs/${job.id}` };
}

const targets = [];
for (const kind of kinds) targets.push(await prepare(kind));
const results: Record<string, { rps: number[]; p99: number[] }> = {
  pglite: { rps: [], p99: [] },
  postgres: { rps: [], p99: [] },
};
try {
  for (const t of targets) {
    // warm-up: JIT, connection pool, plan caches
    await autocannon({
      url: t.srv.url + t.path,
      connections: 50,
      duration: 2,
      headers: { authorization: `Bearer ${t.token}` },
    });
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    for (const t of order) {
      const r = await autocannon({
        url: t.srv.url + t.path,
        connections: 50,
        duration: DURATION,
        headers: { authorization: `Bearer ${t.token}` },
      });
      if (r.non2xx || r.errors) throw new Error(`${t.kind}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      results[t.kind].rps.push(r.requests.average);
      results[t.kind].p99.push(r.latency.p99);
      console.error(
        `round ${round} ${t.kind}: ${r.requests.average.toFixed(0)} req/s, p99 ${r.latency.p99} ms`,
      );
    }
  }
} finally {
  for (const t of targets) await t.srv.stop();
}

const pgl = { rps: median(results.pglite.rps), p99: median(results.pglite.p99) };
const pgs = { rps: median(results.postgres.rps), p99: median(results.postgres.p99) };
console.log(`\nGET /v1/jobs/:id, 50 connections, ${DURATION} s x ${ROUNDS} rounds (interleaved), medians:\n`);
console.log('| database | requests/s | p99 latency (ms) |');
console.log('| --- | ---: | ---: |');
console.log(`| PGlite | ${pgl.rps.toFixed(0)} | ${pgl.p99.toFixed(1)} |`);
console.log(`| PostgreSQL | ${pgs.rps.toFixed(0)} | ${pgs.p99.toFixed(1)} |`);
console.log(
  `| ratio PostgreSQL / PGlite | ${(pgs.rps / pgl.rps).toFixed(2)}x | ${(pgs.p99 / pgl.p99).toFixed(2)}x |`,
);
