/**
 * Limits that keep one client from hurting the others (issue 10, items 3 and 4): registrations
 * per address, logins per address over every username, counted in Redis when REDIS_URL is set
 * (shared by API processes) and keyed on the real client behind TRUST_PROXY; a minimum upload
 * rate and an idle-connection timeout; POST /v1/detect's turns, timeout and per-user rate.
 * Everything on loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openAsBlob, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixture } from '../../fixtures/index.js';
import { assertError, call, type Res, registerAndLogin, uniqueName } from '../../helpers/http.js';
import {
  createTestDatabase,
  recordingQueue,
  startServer,
  type TestDatabase,
  type TestServer,
} from '../../helpers/server.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const password = 'correct horse battery';

let tdb: TestDatabase;
const servers: TestServer[] = [];
async function server(env: Record<string, string>): Promise<TestServer> {
  // a recording queue: these tests need no workers, and REDIS_URL below is for the counters only
  const s = await startServer(tdb, env, { queue: recordingQueue() });
  servers.push(s);
  return s;
}

before(async () => {
  tdb = await createTestDatabase('pglite');
});
after(async () => {
  for (const s of servers) await s.close();
  await tdb?.drop();
});

const register = (base: string, username = uniqueName(), headers: Record<string, string> = {}) =>
  call(base, 'POST', '/v1/auth/register', { json: { username, password }, headers });
const login = (base: string, username: string, headers: Record<string, string> = {}) =>
  call(base, 'POST', '/v1/auth/login', { json: { username, password: 'not the password!' }, headers });

function assertLimited(res: Res, about: RegExp): void {
  assertError(res, 429, 'RATE_LIMITED');
  assert.match(res.body.error.message, about);
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
}

describe('registrations and logins per client address', () => {
  test('registrations: REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR, then 429', async () => {
    const s = await server({ REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '2' });
    assert.equal((await register(s.url)).status, 201);
    assert.equal((await register(s.url)).status, 201);
    assertLimited(await register(s.url), /accounts were made from your address/);
  });

  test('logins over every username (password spraying): LOGIN_RATE_LIMIT_PER_ADDRESS_PER_HOUR, then 429', async () => {
    const s = await server({
      LOGIN_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '3',
      LOGIN_RATE_LIMIT_PER_MINUTE: '100',
    });
    for (let i = 0; i < 3; i++)
      assertError(await login(s.url, uniqueName('sprayed')), 401, 'INVALID_CREDENTIALS');
    assertLimited(await login(s.url, uniqueName('sprayed')), /login attempts from your address/);
  });

  test('without TRUST_PROXY, X-Forwarded-For is ignored: a forged address does not reset the count', async () => {
    const s = await server({ REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '1' });
    assert.equal((await register(s.url, uniqueName(), { 'x-forwarded-for': '203.0.113.1' })).status, 201);
    assertLimited(await register(s.url, uniqueName(), { 'x-forwarded-for': '203.0.113.2' }), /your address/);
  });

  test('with TRUST_PROXY naming the proxy, each forwarded client has its own count', async () => {
    const s = await server({
      REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '1',
      TRUST_PROXY: '127.0.0.1/8, ::1',
    });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    assert.equal((await register(s.url, uniqueName(), from('203.0.113.1'))).status, 201);
    assertLimited(await register(s.url, uniqueName(), from('203.0.113.1')), /your address/);
    assert.equal((await register(s.url, uniqueName(), from('203.0.113.2'))).status, 201, 'another client');
    // a client that forges its own X-Forwarded-For in front of the proxy's gains nothing: the
    // address the trusted proxy saw (the right-most untrusted one) is the one counted
    assertLimited(await register(s.url, uniqueName(), from('198.51.100.9, 203.0.113.2')), /your address/);
  });

  test('with REDIS_URL, API processes share the counts', async () => {
    const env = {
      REDIS_URL,
      QUEUE_PREFIX: `wdtest-${randomBytes(4).toString('hex')}`,
      REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '2',
    };
    const a = await server(env);
    const b = await server(env);
    assert.equal((await register(a.url)).status, 201);
    assert.equal((await register(b.url)).status, 201);
    assertLimited(await register(a.url), /your address/);
    assertLimited(await register(b.url), /your address/);
    // two processes without Redis count on their own (the per-process store)
    const c = await server({ REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '1' });
    const d = await server({ REGISTER_RATE_LIMIT_PER_ADDRESS_PER_HOUR: '1' });
    assert.equal((await register(c.url)).status, 201);
    assert.equal((await register(d.url)).status, 201);
  });
});

/** A raw HTTP connection: what the server sends back, and when it closes. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let received = '';
  socket.on('data', (d) => {
    received += d.toString('latin1');
  });
  socket.on('error', () => {}); // a reset is one of the expected endings
  const closed = new Promise<number>((resolve) => {
    const t0 = Date.now();
    socket.on('close', () => resolve(Date.now() - t0));
  });
  return { socket, closed, received: () => received };
}

function storedTemp(root: string): string[] {
  try {
    return readdirSync(join(root, 'tmp'));
  } catch {
    return [];
  }
}

describe('slow and idle connections', () => {
  let s: TestServer;
  let token: string;
  before(async () => {
    s = await server({
      MIN_UPLOAD_BYTES_PER_SECOND: '1000',
      UPLOAD_RATE_WINDOW_SECONDS: '1',
      IDLE_TIMEOUT_SECONDS: '2',
    });
    token = (await registerAndLogin(s.url)).accessToken;
  });

  test('an upload trickling 1 byte every 4 s is cut off with a 408 and leaves no file behind', async () => {
    const c = rawConnection(s.url);
    const boundary = 'wdslow';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="video"; filename="slow.mp4"\r\n\r\n`;
    c.socket.write(
      `POST /v1/jobs HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n` +
        `content-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: 100000\r\n\r\n${head}`,
    );
    const trickle = setInterval(() => c.socket.writable && c.socket.write('x'), 4000);
    c.socket.write('x');
    const ms = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
    clearInterval(trickle);
    assert.notEqual(ms, -1, 'the connection was still open after 30 s');
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    assert.match(c.received(), /"code":"UPLOAD_TOO_SLOW"/);
    // the handler saw its stream end: the temp file goes
    for (let i = 0; i < 50 && storedTemp(s.storage.root).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(storedTemp(s.storage.root), []);
    assert.equal((await call(s.url, 'GET', '/healthz')).status, 200);
  });

  test('a small body sent quickly is not affected', async () => {
    const res = await call(s.url, 'POST', '/v1/auth/login', {
      json: { username: 'nobody-here', password: 'x' },
    });
    assertError(res, 401, 'INVALID_CREDENTIALS');
  });

  test('a connection that says nothing is closed after IDLE_TIMEOUT_SECONDS', async () => {
    const c = rawConnection(s.url);
    const ms = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
    assert.notEqual(ms, -1, 'the idle connection was still open after 30 s');
    assert.equal(c.received(), '');
  });
});

describe('POST /v1/detect: turns, timeout, rate per user', () => {
  const detect = async (base: string, token: string) => {
    const form = new FormData();
    form.append('image', await openAsBlob(fixture('coffee.png')), 'coffee.png');
    return call(base, 'POST', '/v1/detect', { token, body: form });
  };

  test('with every turn taken and no room to wait: 503 with Retry-After, then a turn again', async () => {
    const s = await server({ DETECT_CONCURRENCY: '1', DETECT_QUEUE: '0' });
    const { accessToken } = await registerAndLogin(s.url);
    let release!: () => void;
    const held = s.rt.services.detectLimiter.run(() => new Promise<void>((r) => (release = r)));
    const busy = await detect(s.url, accessToken);
    assertError(busy, 503, 'BUSY');
    assert.match(busy.body.error.message, /Image detection is busy/);
    assert.ok(Number(busy.headers.get('retry-after')) >= 1);
    release();
    await held;
    const ok = await detect(s.url, accessToken);
    assert.equal(ok.status, 200, ok.text);
  });

  test('a request that waits past DETECT_TIMEOUT_SECONDS: 503 TIMEOUT, and it takes no turn', async () => {
    const s = await server({ DETECT_CONCURRENCY: '1', DETECT_QUEUE: '1', DETECT_TIMEOUT_SECONDS: '1' });
    const { accessToken } = await registerAndLogin(s.url);
    let release!: () => void;
    const held = s.rt.services.detectLimiter.run(() => new Promise<void>((r) => (release = r)));
    const heldOutcome = held.then(
      () => 'finished',
      (e: Error) => e.message,
    );
    const late = await detect(s.url, accessToken);
    assertError(late, 503, 'TIMEOUT');
    assert.deepEqual(s.rt.services.detectLimiter.stats(), { running: 1, waiting: 0 });
    // the holder timed out too (its answer was a 503), yet its turn is held until its work ends
    assert.match(await heldOutcome, /took longer than 1 s/);
    assert.deepEqual(s.rt.services.detectLimiter.stats(), { running: 1, waiting: 0 });
    release();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(s.rt.services.detectLimiter.stats(), { running: 0, waiting: 0 });
  });

  test('DETECT_RATE_LIMIT_PER_MINUTE per user: 429 for that user, others unaffected', async () => {
    const s = await server({ DETECT_RATE_LIMIT_PER_MINUTE: '1' });
    const a = await registerAndLogin(s.url);
    const b = await registerAndLogin(s.url);
    assert.equal((await detect(s.url, a.accessToken)).status, 200);
    assertLimited(await detect(s.url, a.accessToken), /too many images/);
    assert.equal((await detect(s.url, b.accessToken)).status, 200);
  });
});
