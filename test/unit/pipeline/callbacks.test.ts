import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  CallbackResponseError,
  CallbackUrlError,
  callbackPayload,
  checkCallbackTarget,
  checkCallbackUrl,
  deliverCallback,
  isNonPublicAddress,
  signCallback,
} from '../../../src/pipeline/callbacks.js';

describe('callback URLs', () => {
  it('accepts http and https, refuses other schemes and credentials', () => {
    assert.equal(checkCallbackUrl('https://example.com/hook', null).host, 'example.com');
    assert.throws(() => checkCallbackUrl('ftp://example.com/x', null), /http or https/);
    assert.throws(() => checkCallbackUrl('file:///etc/passwd', null), CallbackUrlError);
    assert.throws(() => checkCallbackUrl('not a url', null), /absolute/);
    assert.throws(() => checkCallbackUrl('https://u:p@example.com/', null), /credentials/);
  });

  it('enforces the allowlist when one is configured', () => {
    assert.ok(checkCallbackUrl('http://hooks.internal:8080/x', ['hooks.internal']));
    assert.throws(() => checkCallbackUrl('http://evil.example/x', ['hooks.internal']), /allowlist/);
  });

  it('classifies private and loopback addresses', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '172.16.5.5',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isNonPublicAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '2606:4700::1111'])
      assert.equal(isNonPublicAddress(ip), false, ip);
  });

  it('refuses a loopback target without an allowlist, allows it with one', async () => {
    await assert.rejects(checkCallbackTarget(new URL('http://127.0.0.1:9/x'), null), /CALLBACK_ALLOWLIST/);
    await checkCallbackTarget(new URL('http://127.0.0.1:9/x'), ['127.0.0.1']);
  });
});

describe('callback delivery', () => {
  it('POSTs a body whose signature the receiver can verify', async () => {
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = received.length === 1 ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const payload = {
      jobId: 'j1',
      status: 'completed',
      error: null,
      finishedAt: null,
      framesAnalysed: 3,
      tag: 'order-42',
      links: { self: '/v1/jobs/j1', detections: '/v1/jobs/j1/detections' },
    };
    const opts = { secret: 's3cret', allowlist: ['127.0.0.1'], now: () => 1_700_000_000_000 };
    // first answer is a 500: delivery must throw so the queue retries
    await assert.rejects(
      deliverCallback(url, payload, opts),
      (e: unknown) => e instanceof CallbackResponseError && e.status === 500 && /HTTP 500/.test(e.message),
    );
    assert.deepEqual(await deliverCallback(url, payload, opts), { status: 204 });
    server.close();
    assert.equal(received.length, 2);
    const { headers, body } = received[1];
    assert.deepEqual(JSON.parse(body), payload);
    assert.equal(headers['x-webdetector-timestamp'], '1700000000');
    const expected = `sha256=${createHmac('sha256', 's3cret').update(`1700000000.${body}`).digest('hex')}`;
    assert.equal(headers['x-webdetector-signature'], expected);
    assert.equal(signCallback('s3cret', 1700000000, body), expected);
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
