import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRange, videoContentType } from '../../src/http/range.js';
import { createMediaLinks } from '../../src/services/media-links.js';

const secret = 'a-test-secret-of-enough-length';
const T0 = Date.UTC(2025, 0, 1); // fixed clock
const exp = Math.floor(T0 / 1000) + 600;

describe('media links: sign and verify', () => {
  const links = createMediaLinks({ secret, ttlSeconds: 600, now: () => T0 });

  test('sign is pure and base64url (43 chars, no padding)', () => {
    const a = links.sign('job-1', exp);
    assert.equal(a, links.sign('job-1', exp));
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, links.sign('job-1', exp + 1));
  });

  test('a fresh signature verifies (number or string exp)', () => {
    const sig = links.sign('job-1', exp);
    assert.equal(links.verify('job-1', exp, sig), true);
    assert.equal(links.verify('job-1', String(exp), sig), true);
  });

  test('a tampered signature, exp or job id is rejected', () => {
    const sig = links.sign('job-1', exp);
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    assert.equal(links.verify('job-1', exp, flipped), false);
    assert.equal(links.verify('job-1', exp + 60, sig), false, 'extended expiry');
    assert.equal(links.verify('job-2', exp, sig), false, 'signature of another job');
    assert.equal(links.verify('job-1', exp, sig.slice(0, 42)), false, 'truncated');
    assert.equal(links.verify('job-1', exp, `${sig}=`), false, 'padded');
    assert.equal(links.verify('job-1', exp, ''), false);
    assert.equal(links.verify('job-1', `${exp}.0`, sig), false, 'non-integer exp');
    assert.equal(links.verify('job-1', '-1', sig), false);
  });

  test('another secret does not verify', () => {
    const other = createMediaLinks({
      secret: 'another-secret-of-enough-length',
      ttlSeconds: 600,
      now: () => T0,
    });
    assert.equal(other.verify('job-1', exp, links.sign('job-1', exp)), false);
  });

  test('an expired link is rejected, up to the second', () => {
    let now = T0;
    const l = createMediaLinks({ secret, ttlSeconds: 60, now: () => now });
    const sig = l.sign('job-1', exp);
    now = exp * 1000 - 1;
    assert.equal(l.verify('job-1', exp, sig), true);
    assert.equal(l.isExpired(exp), false);
    now = exp * 1000;
    assert.equal(l.verify('job-1', exp, sig), false);
    assert.equal(l.isExpired(exp), true);
  });

  test('create makes a URL valid for ttlSeconds', () => {
    const link = links.create('job 1/x');
    assert.equal(link.exp, Math.floor(T0 / 1000) + 600);
    assert.equal(link.expiresAt, new Date(link.exp * 1000).toISOString());
    const u = new URL(link.url, 'http://x');
    assert.equal(u.pathname, '/v1/media/job%201%2Fx');
    assert.equal(links.verify('job 1/x', u.searchParams.get('exp')!, u.searchParams.get('sig')!), true);
  });

  test('refuses a short secret and a bad ttl', () => {
    assert.throws(() => createMediaLinks({ secret: 'short', ttlSeconds: 60 }));
    assert.throws(() => createMediaLinks({ secret, ttlSeconds: 0 }));
  });
});

describe('media route: Range parsing', () => {
  test('the forms a player sends', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=100-', 1000), { start: 100, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
    assert.deepEqual(parseRange('bytes=900-5000', 1000), { start: 900, end: 999 });
  });
  test('unsatisfiable and ignored', () => {
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
    assert.equal(parseRange(undefined, 1000), null);
    assert.equal(parseRange('items=0-1', 1000), null);
    assert.equal(parseRange('bytes=5-1', 1000), null);
    assert.equal(parseRange('bytes=0-1,5-6', 1000), null);
    assert.equal(parseRange('bytes=-', 1000), null);
  });
  test('content type', () => {
    assert.equal(videoContentType('a/b.mp4'), 'video/mp4');
    assert.equal(videoContentType('a/b.webm'), 'video/webm');
    assert.equal(videoContentType('a/b', 'mov,mp4,m4a,3gp,3g2,mj2'), 'video/mp4');
    assert.equal(videoContentType('a/b', 'matroska,webm'), 'video/webm');
    assert.equal(videoContentType('a/b'), 'video/mp4');
  });
});
