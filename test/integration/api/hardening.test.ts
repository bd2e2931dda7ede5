/**
 * The security review's low findings (issue 10, item 4), each on the real app: the query token
 * only where a browser needs it, checked on the matched route; credentials redacted from logged
 * URLs after percent-decoding; no file path in a job's error; malformed multipart is a 400; the
 * security headers and a Content-Security-Policy the web UI (and Swagger UI) work under.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultWebRoot } from '../../../src/http/routes/web.js';
import { createLogger } from '../../../src/logger.js';
import { createRuntime } from '../../../src/runtime.js';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import {
  createTestDatabase,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';
import { waitForJob } from '../pipeline/checks.js';

let tdb: TestDatabase;
let srv: TestServer;
let base: string;
let alice: Awaited<ReturnType<typeof registerAndLogin>>;
const logLines: string[] = [];
const queue = recordingQueue(); // no workers: jobs stay queued

before(async () => {
  tdb = await createTestDatabase('pglite');
  const log = createLogger({ logLevel: 'info', isProduction: false }, {}, false, {
    write: (line) => void logLines.push(line),
  });
  srv = await startServer(tdb, { TASK_ATTEMPTS: '1' }, { queue, log });
  base = srv.url;
  alice = await registerAndLogin(base);
});
after(async () => {
  await srv?.close();
  await tdb?.drop();
});

/** Status and body of a GET that may be an event stream (read until it ends or `ms` pass). */
async function get(path: string, ms = 3000): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, { signal: AbortSignal.timeout(ms) });
  let text = '';
  try {
    text = await res.text();
  } catch {
    // a stream still open when the time is up: what came so far is not needed
  }
  return { status: res.status, text };
}

describe('?access_token= only where a browser needs it, checked on the matched route', () => {
  let jobId: string;
  before(async () => {
    const up = await upload(base, alice.accessToken, await smallVideo(2));
    jobId = up.body.job.id;
    // canceled: its event stream says so and ends at once
    assert.equal(
      (await call(base, 'POST', `/v1/jobs/${jobId}/cancel`, { token: alice.accessToken })).status,
      200,
    );
  });

  test('the events stream takes it', async () => {
    const r = await get(`/v1/jobs/${jobId}/events?access_token=${alice.accessToken}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /event: status\ndata: \{"status":"canceled"/);
  });

  test('every other route refuses it, also when the raw URL mentions /events', async () => {
    const t = alice.accessToken;
    for (const path of [
      `/v1/jobs?access_token=${t}`,
      `/v1/jobs?access_token=${t}&x=/events`,
      `/v1/jobs?next=/events?&access_token=${t}`,
      `/v1/jobs/${jobId}?access_token=${t}`,
      `/v1/auth/me?access_token=${t}`,
      `/v1/jobs/${jobId}/detections?access_token=${t}&a=/events`,
      `/v1/jobs/${jobId}/video-url?access_token=${t}`,
    ]) {
      const res = await call(base, 'GET', path);
      assertError(res, 401, 'UNAUTHORIZED');
    }
    assertError(await call(base, 'POST', `/v1/jobs/${jobId}/cancel?access_token=${t}`), 401, 'UNAUTHORIZED');
  });

  test('a percent-encoded name works on the events stream and is redacted from the log', async () => {
    logLines.length = 0;
    const r = await get(`/v1/jobs/${jobId}/events?access%5Ftoken=${alice.accessToken}`);
    assert.equal(r.status, 200, 'the query parser decodes the name, so the token is used');
    const log = logLines.join('');
    assert.match(log, /access%5Ftoken=\[redacted\]/, 'the request was logged');
    assert.ok(!log.includes(alice.accessToken), 'the token is not in the log');
  });
});

test("a job's error never carries a file path (the path of its video included)", async () => {
  const up = await upload(base, alice.accessToken, await smallVideo(2));
  assert.equal(up.status, 202, up.text);
  const id = up.body.job.id as string;
  // the stored video becomes unreadable after the upload: ffprobe's complaint names the file
  const file = srv.storage.path(`videos/${id}`);
  writeFileSync(file, Buffer.alloc(4096, 1));
  // a worker process on the same database and storage takes the job up
  const worker = await createRuntime(srv.config, {
    workers: true,
    database: tdb.handle,
    housekeeping: false,
  });
  try {
    await worker.pipeline.resumeUnfinished();
    const job = await waitForJob(base, alice.accessToken, id, { timeoutMs: 60_000 });
    assert.equal(job.status, 'failed');
    assert.ok(job.error, 'the job says why it failed');
    assert.ok(!job.error.includes(tdb.dataDir), `the error names the data folder: ${job.error}`);
    assert.ok(!job.error.includes(id), `the error names the stored file: ${job.error}`);
    assert.doesNotMatch(job.error, /(^|[\s'"(])\/[\w.-]+\//, `a path in the error: ${job.error}`);
    const chunkErrors = await tdb.handle.db
      .selectFrom('job_chunks')
      .select('error')
      .where('job_id', '=', id)
      .execute();
    for (const c of chunkErrors) assert.ok(!c.error?.includes(tdb.dataDir));
  } finally {
    await worker.close();
  }
});

describe('malformed multipart is a 400 with a sentence, on both upload routes', () => {
  // [name, content type, body for the route's file field, the code expected]
  const cases: [string, string, (field: string) => string, string][] = [
    ['no boundary', 'multipart/form-data', () => '--x\r\n\r\n', 'MALFORMED_MULTIPART'],
    [
      'a form that ends inside a part',
      'multipart/form-data; boundary=wdb',
      (field) =>
        `--wdb\r\ncontent-disposition: form-data; name="${field}"; filename="a.mp4"\r\ncontent-type: video/mp4\r\n\r\nnot all of it`,
      'MALFORMED_MULTIPART',
    ],
    [
      'no part at all, only noise',
      'multipart/form-data; boundary=wdb',
      () => 'A'.repeat(2000),
      'MALFORMED_MULTIPART',
    ],
    [
      'a part header without a blank line (no part is read)',
      'multipart/form-data; boundary=wdb',
      (field) => `--wdb\r\ncontent-disposition: form-data; name="${field}"; filename="a.mp4"\r\n--wdb--\r\n`,
      'EMPTY_UPLOAD',
    ],
  ];
  for (const [route, field] of [
    ['/v1/jobs', 'video'],
    ['/v1/detect', 'image'],
  ]) {
    for (const [name, type, body, code] of cases) {
      test(`${route}: ${name}`, async () => {
        const res = await call(base, 'POST', route, {
          token: alice.accessToken,
          body: body(field),
          headers: { 'content-type': type },
        });
        assertError(res, 400, code);
      });
    }
  }
  test('the server still answers afterwards', async () => {
    assert.equal((await call(base, 'GET', '/healthz')).status, 200);
  });
});

describe('security headers', () => {
  const directives = (csp: string) =>
    new Map(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => {
          const [name, ...values] = d.split(/\s+/);
          return [name, values] as const;
        }),
    );

  test('the web UI: a CSP without inline script, no framing, nosniff, no referrer', async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    const csp = directives(res.headers.get('content-security-policy') ?? '');
    assert.deepEqual(csp.get('script-src'), ["'self'"]);
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(csp.get('object-src'), ["'none'"]);
    assert.ok(!csp.has('upgrade-insecure-requests'), 'plain-HTTP deployments keep working');
    for (const [name, values] of csp) assert.ok(!values.includes("'unsafe-inline'"), `${name} allows inline`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    // the page itself has no inline script for the policy to block
    const html = await res.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.ok(scripts.length > 0);
    for (const tag of scripts) assert.match(tag, /\ssrc=/, `inline script: ${tag}`);
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
    assert.equal(html, readFileSync(join(defaultWebRoot, 'index.html'), 'utf8'));
  });

  test('API answers carry them too', async () => {
    const res = await fetch(`${base}/v1/jobs`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(res.headers.get('content-security-policy'));
  });

  test('Swagger UI at /docs has its own policy, framing still refused', async () => {
    const res = await fetch(`${base}/docs/`, { redirect: 'follow' });
    assert.equal(res.status, 200);
    const csp = directives(res.headers.get('content-security-policy') ?? '');
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    assert.ok(!csp.has('upgrade-insecure-requests'));
    assert.ok(csp.get('script-src')?.includes("'self'"));
  });

  test('signed media links and job ids do not leak through Referer (checked on a real media answer)', async () => {
    const up = await upload(base, alice.accessToken, await smallVideo(2));
    const link = await call(base, 'GET', `/v1/jobs/${up.body.job.id}/video-url`, {
      token: alice.accessToken,
    });
    const res = await new Promise<{ status?: number; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        httpRequest(base + link.body.url, (r) => {
          r.resume();
          resolve({ status: r.statusCode, headers: r.headers });
        })
          .on('error', reject)
          .end();
      },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });
});
