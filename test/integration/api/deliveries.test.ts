/**
 * Webhooks you can trust (issue 10, item 7), end to end on loopback: a real job (workers, model,
 * ffmpeg) with a callbackUrl to a local receiver; every delivery attempt in
 * GET /v1/jobs/:id/deliveries; POST …/redeliver; the payload's tag; and the two signature
 * verification snippets of docs/api.md, run as they are written against the callbacks received.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DeliveryList } from '../../../src/api/schemas.js';
import { describeDeliveryError } from '../../../src/pipeline/tasks/notify.js';
import { assertError, call, registerAndLogin, upload } from '../../helpers/http.js';
import { smallVideo } from '../../helpers/media.js';
import { createTestDatabase, startServer, type TestDatabase, type TestServer } from '../../helpers/server.js';
import { waitForJob } from '../pipeline/checks.js';

FormatRegistry.Set('uuid', (v) => /^[0-9a-f-]{36}$/.test(v));
FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));

const SECRET = 'a callback secret for the test';
const DOCS = new URL('../../../docs/api.md', import.meta.url);

/** The fenced code block after `<!-- marker -->` in docs/api.md. */
function docsSnippet(marker: string): string {
  const md = readFileSync(DOCS, 'utf8');
  const m = new RegExp(`<!-- ${marker} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(md);
  assert.ok(m, `docs/api.md has the ${marker} snippet`);
  return m[1];
}

type Verify = (secret: string, headers: IncomingHttpHeaders, body: Buffer) => boolean;

/** The Node snippet of docs/api.md as a function (its import line supplied here). */
function nodeVerifier(): Verify {
  const code = docsSnippet('verify-node').replace(/^import .*$/m, '');
  return new Function('createHmac', 'timingSafeEqual', `${code}\nreturn verifyWebDetector;`)(
    createHmac,
    timingSafeEqual,
  ) as Verify;
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

/** The Python snippet of docs/api.md, run by python3 on one received callback. */
function pythonVerifies(secret: string, headers: IncomingHttpHeaders, body: Buffer): boolean {
  const program = `${docsSnippet('verify-python')}
import base64, json, sys
d = json.load(sys.stdin)
h = {"X-WebDetector-Timestamp": d["ts"], "X-WebDetector-Signature": d["sig"]}
print(verify_web_detector(d["secret"], h, base64.b64decode(d["body"])))
`;
  const out = execFileSync('python3', ['-c', program], {
    input: JSON.stringify({
      secret,
      ts: headers['x-webdetector-timestamp'],
      sig: headers['x-webdetector-signature'],
      body: body.toString('base64'),
    }),
  });
  return out.toString().trim() === 'True';
}

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let tdb: TestDatabase;
let srv: TestServer;
let receiver: Server;
let hook: string;
const received: Received[] = [];
/** the receiver's answers, in order; after the list runs out, 204 */
const answers: number[] = [500];

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = answers.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  tdb = await createTestDatabase('pglite');
  srv = await startServer(
    tdb,
    { CALLBACK_ALLOWLIST: '127.0.0.1', CALLBACK_SECRET: SECRET, TASK_BACKOFF_MS: '100' },
    { workers: true },
  );
});
after(async () => {
  await srv?.close();
  await tdb?.drop();
  receiver?.close();
});

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a job with a callback', () => {
  let token: string;
  let jobId: string;
  const deliveries = async () => (await call(srv.url, 'GET', `/v1/jobs/${jobId}/deliveries`, { token })).body;

  before(async () => {
    token = (await registerAndLogin(srv.url)).accessToken;
    const up = await upload(srv.url, token, await smallVideo(2), {
      fps: '1',
      callbackUrl: hook,
      tag: 'cam-1',
    });
    assert.equal(up.status, 202, up.text);
    jobId = up.body.job.id;
    const done = await waitForJob(srv.url, token, jobId, { timeoutMs: 120_000 });
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });

  test('each attempt is logged: the first, answered 500, with its status and a sentence', async () => {
    await until('the first attempt in the log', async () => (await deliveries()).deliveries.length >= 1);
    const log = await deliveries();
    if (!Value.Check(DeliveryList, log)) assert.fail(`not a DeliveryList: ${JSON.stringify(log)}`);
    const first = log.deliveries.at(-1);
    assert.ok(first);
    assert.deepEqual(
      [first.attempt, first.statusCode, first.succeeded, first.error],
      [1, 500, false, 'The receiver answered HTTP 500.'],
    );
    assert.ok(first.durationMs >= 0 && first.durationMs < 10_000);
    const times = log.deliveries.map((d) => Date.parse(d.attemptedAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
  });

  test('the payload names the job and echoes its tag; both documented snippets verify the signature', async () => {
    assert.ok(received.length >= 1);
    const verify = nodeVerifier();
    for (const r of received) {
      const payload = JSON.parse(r.body.toString());
      assert.equal(payload.jobId, jobId);
      assert.equal(payload.status, 'completed');
      assert.equal(payload.tag, 'cam-1');
      assert.equal(verify(SECRET, r.headers, r.body), true, 'the Node snippet accepts it');
      assert.equal(verify('another secret', r.headers, r.body), false);
      const tampered = Buffer.from(r.body.toString().replace('"cam-1"', '"cam-2"'));
      assert.equal(verify(SECRET, r.headers, tampered), false, 'a changed body is refused');
      const stale = {
        ...r.headers,
        'x-webdetector-timestamp': String(Number(r.headers['x-webdetector-timestamp']) - 3600),
      };
      assert.equal(verify(SECRET, stale, r.body), false, 'an old timestamp is refused');
    }
  });

  test('the Python snippet verifies a real callback too', {
    skip: !hasPython && 'python3 is not installed',
  }, () => {
    const r = received[0];
    assert.equal(pythonVerifies(SECRET, r.headers, r.body), true);
    assert.equal(pythonVerifies(SECRET, r.headers, Buffer.concat([r.body, Buffer.from(' ')])), false);
  });

  test('redeliver sends it once more (now answered 204) and logs it; one row per request received', async () => {
    const res = await call(srv.url, 'POST', `/v1/jobs/${jobId}/deliveries/redeliver`, { token });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body, { queued: true });
    // (the queue's own retry of the first attempt may land meanwhile: both are logged)
    await until('a delivery that succeeded', async () =>
      ((await deliveries()).deliveries as { succeeded: boolean }[]).some((d) => d.succeeded),
    );
    const log = (await deliveries()).deliveries as {
      attempt: number;
      statusCode: number;
      succeeded: boolean;
      error: null;
    }[];
    const ok = log.find((d) => d.succeeded);
    assert.deepEqual([ok?.statusCode, ok?.error], [204, null]);
    await until(
      'the log to catch up with the receiver',
      async () => (await deliveries()).deliveries.length === received.length,
    );
  });

  test("another user's job is a 404; a job without a callback or not finished is a 409", async () => {
    const other = await registerAndLogin(srv.url);
    assertError(
      await call(srv.url, 'GET', `/v1/jobs/${jobId}/deliveries`, { token: other.accessToken }),
      404,
      'JOB_NOT_FOUND',
    );
    assertError(
      await call(srv.url, 'POST', `/v1/jobs/${jobId}/deliveries/redeliver`, { token: other.accessToken }),
      404,
      'JOB_NOT_FOUND',
    );
    const plain = (await upload(srv.url, token, await smallVideo(2), { fps: '1' })).body.job.id;
    assertError(
      await call(srv.url, 'POST', `/v1/jobs/${plain}/deliveries/redeliver`, { token }),
      409,
      'NO_CALLBACK',
    );
    const canceled = (await upload(srv.url, token, await smallVideo(2), { fps: '1', callbackUrl: hook })).body
      .job.id;
    await call(srv.url, 'POST', `/v1/jobs/${canceled}/cancel`, { token });
    const res = await call(srv.url, 'POST', `/v1/jobs/${canceled}/deliveries/redeliver`, { token });
    assertError(res, 409, 'JOB_NOT_FINISHED');
    assert.match(res.body.error.message, /The job is canceled/);
    assert.deepEqual((await call(srv.url, 'GET', `/v1/jobs/${plain}/deliveries`, { token })).body, {
      deliveries: [],
    });
  });
});

test('delivery errors read as sentences without paths (pure)', () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  assert.equal(describeDeliveryError(refused), 'The receiver refused the connection.');
  assert.equal(
    describeDeliveryError(Object.assign(new Error('x'), { name: 'TimeoutError' })),
    'The receiver did not answer in time.',
  );
  assert.equal(
    describeDeliveryError(new Error("EACCES: permission denied, open '/srv/wd/data/x'")),
    "The delivery failed: EACCES: permission denied, open '[path]'.",
  );
});
