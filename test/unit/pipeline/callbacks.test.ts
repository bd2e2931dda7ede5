import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CallbackResponseError,
  CallbackUrlError,
  callbackPayload,
  checkCallbackTarget,
  checkCallbackUrl,
  deliverCallback,
  resolveCallbackHost,
  signCallback,
} from '../../../src/pipeline/callbacks.js';

/**
 * Every request here goes to a listener on 127.0.0.1 or nowhere: refusals are checked by counting
 * the connections the loopback listener accepted (none), never by letting a request leave.
 */

const payload = {
  jobId: 'j1',
  status: 'completed',
  error: null,
  finishedAt: null,
  framesAnalysed: 3,
  tag: 'order-42',
  links: { self: '/v1/jobs/j1', detections: '/v1/jobs/j1/detections' },
};

/** A loopback HTTP listener that counts TCP connections and records requests. */
function loopbackListener(statuses: number[] = []) {
  const received: { headers: Record<string, string | string[] | undefined>; body: string; url: string }[] =
    [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body, url: req.url ?? '' });
      res.statusCode = statuses.shift() ?? 204;
      res.end();
    });
  });
  server.on('connection', () => {
    connections++;
  });
  return {
    received,
    connections: () => connections,
    port: () => (server.address() as AddressInfo).port,
    listen: () => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('callback URLs', () => {
  it('accepts http and https, refuses other schemes and credentials', () => {
    assert.equal(checkCallbackUrl('https://example.com/hook', null).host, 'example.com');
    assert.throws(() => checkCallbackUrl('ftp://example.com/x', null), /http or https/);
    assert.throws(() => checkCallbackUrl('file:///etc/passwd', null), CallbackUrlError);
    assert.throws(() => checkCallbackUrl('not a url', null), /absolute/);
    assert.throws(() => checkCallbackUrl('https://u:p@example.com/', null), /credentials/);
  });

  it('enforces the allowlist when one is configured, trailing dot or not', () => {
    assert.ok(checkCallbackUrl('http://hooks.internal:8080/x', ['hooks.internal']));
    assert.ok(checkCallbackUrl('http://hooks.internal.:8080/x', ['hooks.internal']));
    assert.ok(checkCallbackUrl('http://127.0.0.1:9/x', ['127.0.0.1']), 'an allowlisted host may be private');
    assert.throws(() => checkCallbackUrl('http://evil.example/x', ['hooks.internal']), /allowlist/);
  });

  // every form from the security review, and then some: refused without touching the network
  const refused = [
    'http://[::ffff:127.0.0.1]:9911/h',
    'http://[::ffff:7f00:1]/h',
    'http://[::127.0.0.1]/h',
    'http://[64:ff9b::7f00:1]/h',
    'http://[64:ff9b::127.0.0.1]/h',
    'http://[2002:7f00:1::]/h',
    'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/h',
    'http://[::1]/h',
    'http://[fd00::1]/h',
    'http://[fe80::1]/h',
    'http://[2001:db8::1]/h',
    'http://localhost/h',
    'http://localhost./h',
    'http://LOCALHOST../h',
    'http://api.localhost/h',
    'http://printer.local./h',
    'http://metadata.google.internal/h',
    'http://intranet/h',
    'http://127.0.0.1/h',
    'http://127.1/h',
    'http://0x7f.1/h',
    'http://2130706433/h',
    'http://0/h',
    'http://10.0.0.1/h',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/h',
    'http://192.0.0.1/h',
    'http://192.0.2.1/h',
    'http://198.51.100.1/h',
    'http://203.0.113.1/h',
    'http://198.18.0.1/h',
    'http://224.0.0.1/h',
    'http://255.255.255.255/h',
  ];
  for (const url of refused) {
    it(`refuses ${url}`, () => {
      assert.throws(() => checkCallbackUrl(url, null), CallbackUrlError);
    });
  }

  it('accepts public literals and names (checked again with DNS at delivery)', () => {
    for (const url of ['https://8.8.8.8/h', 'https://[2606:4700::1111]/h', 'https://hooks.example.com./h'])
      assert.ok(checkCallbackUrl(url, null), url);
  });

  it('refuses a name that resolves to any non-public address, at creation', async () => {
    const resolve = async (h: string) =>
      h === 'split.example.com' ? ['8.8.8.8', '10.0.0.5'] : ['127.0.0.1'];
    await assert.rejects(
      checkCallbackTarget(new URL('http://rebind.example.com/x'), null, { resolve }),
      /rebind\.example\.com \(127\.0\.0\.1\) is not a public address \(loopback\)/,
    );
    await assert.rejects(
      checkCallbackTarget(new URL('http://split.example.com/x'), null, { resolve }),
      /10\.0\.0\.5.*private/,
    );
    // allowlisted: the operator's choice
    await checkCallbackTarget(new URL('http://rebind.example.com/x'), ['rebind.example.com'], { resolve });
    // a name that does not resolve (now) is let through: delivery checks again
    await checkCallbackTarget(new URL('http://nx.example.com/x'), null, { resolve: async () => [] });
    await checkCallbackTarget(new URL('http://slow.example.com/x'), null, {
      resolve: () => new Promise(() => {}),
      timeoutMs: 50,
    });
  });

  it('resolves once and returns exactly the addresses it checked', async () => {
    let calls = 0;
    const resolve = async () => {
      calls++;
      return ['2606:4700::1111', '8.8.8.8'];
    };
    assert.deepEqual(await resolveCallbackHost('hooks.example.com.', { allowlist: null, resolve }), [
      '2606:4700::1111',
      '8.8.8.8',
    ]);
    assert.equal(calls, 1);
  });
});

describe('callback delivery', () => {
  const rx = loopbackListener([500]);
  before(() => rx.listen());
  after(() => rx.close());

  it('POSTs a body whose signature the receiver can verify (allowlisted loopback)', async () => {
    const url = `http://127.0.0.1:${rx.port()}/hook`;
    const opts = { secret: 's3cret', allowlist: ['127.0.0.1'], now: () => 1_700_000_000_000 };
    // first answer is a 500: delivery must throw so the queue retries
    await assert.rejects(
      deliverCallback(url, payload, opts),
      (e: unknown) => e instanceof CallbackResponseError && e.status === 500 && /HTTP 500/.test(e.message),
    );
    assert.deepEqual(await deliverCallback(url, payload, opts), { status: 204 });
    assert.equal(rx.received.length, 2);
    const { headers, body } = rx.received[1];
    assert.deepEqual(JSON.parse(body), payload);
    assert.equal(headers['x-webdetector-timestamp'], '1700000000');
    const expected = `sha256=${createHmac('sha256', 's3cret').update(`1700000000.${body}`).digest('hex')}`;
    assert.equal(headers['x-webdetector-signature'], expected);
    assert.equal(signCallback('s3cret', 1700000000, body), expected);
  });

  it('a public-looking name that resolves to loopback is refused before any connection', async () => {
    const before = rx.connections();
    const answers: string[][] = [['127.0.0.1'], ['::1'], ['::ffff:127.0.0.1'], ['8.8.8.8', '127.0.0.1']];
    for (const answer of answers) {
      let calls = 0;
      const resolve = async () => {
        calls++;
        return answer;
      };
      await assert.rejects(
        deliverCallback(`http://hooks.example.com:${rx.port()}/h`, payload, {
          secret: 's',
          allowlist: null,
          resolve,
        }),
        (e: Error) => e instanceof CallbackUrlError && /not a public address/.test(e.message),
        answer.join(','),
      );
      assert.equal(calls, 1, 'resolved once');
    }
    assert.equal(rx.connections(), before, 'the loopback listener saw no connection');
  });

  it('IP literals in every spelling are refused before any connection', async () => {
    const before = rx.connections();
    const port = rx.port();
    for (const host of [
      '127.0.0.1',
      '[::ffff:127.0.0.1]',
      '[::127.0.0.1]',
      '[64:ff9b::7f00:1]',
      '127.1',
      'localhost.',
    ]) {
      await assert.rejects(
        deliverCallback(`http://${host}:${port}/h`, payload, { secret: 's', allowlist: null }),
        CallbackUrlError,
        host,
      );
    }
    assert.equal(rx.connections(), before);
  });

  it('connects to the address its own lookup checked (one resolution, no second one by the socket)', async () => {
    // an allowlisted name that only the injected resolver knows: if anything else resolved it
    // (the system resolver, a second lookup), the request could not reach the listener
    let calls = 0;
    const resolve = async (host: string) => {
      calls++;
      assert.equal(host, 'hooks.example.com');
      return ['127.0.0.1'];
    };
    const n = rx.received.length;
    await deliverCallback(`http://hooks.example.com.:${rx.port()}/pinned`, payload, {
      secret: 's',
      allowlist: ['hooks.example.com'],
      resolve,
    });
    assert.equal(calls, 1);
    assert.equal(rx.received.length, n + 1);
    assert.equal(rx.received[n].url, '/pinned');
  });

  it('a redirect is not followed', async () => {
    const redirect = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
    });
    await new Promise<void>((r) => redirect.listen(0, '127.0.0.1', r));
    const port = (redirect.address() as AddressInfo).port;
    await assert.rejects(
      deliverCallback(`http://127.0.0.1:${port}/h`, payload, { secret: 's', allowlist: ['127.0.0.1'] }),
      /HTTP 302/,
    );
    await new Promise<void>((r) => redirect.close(() => r()));
  });
});

it('callbackPayload echoes the client tag of the job', () => {
  const job = {
    id: 'j2',
    status: 'failed' as const,
    error: 'The video could not be prepared for analysis: it has no frames.',
    finishedAt: new Date('2024-01-02T03:04:05.000Z'),
    framesDone: 0,
    tag: 'camera-7',
  };
  const p = callbackPayload(job);
  assert.equal(p.tag, 'camera-7');
  assert.equal(p.finishedAt, '2024-01-02T03:04:05.000Z');
  assert.equal(callbackPayload({ ...job, tag: null }).tag, null);
});
