import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed links for a job's video. A browser's <video> cannot send an Authorization
 * header, so `GET /v1/jobs/:id/video-url` (authenticated) hands out
 * `/v1/media/<jobId>?exp=<unix seconds>&sig=<base64url HMAC-SHA256 of "jobId.exp">`, and
 * `GET /v1/media/:id` checks the signature and the expiry instead of a bearer token.
 */
export interface MediaLinks {
  /** The signature of `jobId.exp` (HMAC-SHA256, base64url, no padding). Pure. */
  sign(jobId: string, expUnixSeconds: number): string;
  /** True when `sig` is the signature of `jobId.exp` and `exp` is not in the past. Timing-safe. */
  verify(jobId: string, exp: number | string, sig: string): boolean;
  /** A fresh link for a job, valid for `ttlSeconds` from now. */
  create(jobId: string): { url: string; exp: number; expiresAt: string };
  /** True when `exp` (unix seconds) is not in the future: tells an expired link from a forged one. */
  isExpired(exp: number | string): boolean;
  readonly ttlSeconds: number;
}

export interface MediaLinksOptions {
  /** The HMAC key: at least 16 bytes (a string is used as UTF-8). */
  secret: string | Buffer;
  ttlSeconds: number;
  /** Current time in milliseconds (tests pass a fake clock). */
  now?: () => number;
}

const EXP_RE = /^\d{1,12}$/;
const SIG_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes of HMAC-SHA256, base64url without padding

export function createMediaLinks(opts: MediaLinksOptions): MediaLinks {
  const key = typeof opts.secret === 'string' ? Buffer.from(opts.secret, 'utf8') : opts.secret;
  if (key.length < 16) throw new Error('The media link secret must be at least 16 bytes long.');
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) {
    throw new Error('The media link lifetime (ttlSeconds) must be a positive whole number.');
  }
  const now = opts.now ?? Date.now;
  const ttlSeconds = opts.ttlSeconds;

  function mac(jobId: string, exp: number): Buffer {
    return createHmac('sha256', key).update(`${jobId}.${exp}`, 'utf8').digest();
  }

  function sign(jobId: string, expUnixSeconds: number): string {
    if (!Number.isInteger(expUnixSeconds) || expUnixSeconds < 0) {
      throw new Error('The expiry must be a whole number of seconds since the epoch.');
    }
    return mac(jobId, expUnixSeconds).toString('base64url');
  }

  function verify(jobId: string, exp: number | string, sig: string): boolean {
    if (typeof jobId !== 'string' || jobId.length === 0 || typeof sig !== 'string') return false;
    const expStr = String(exp);
    if (!EXP_RE.test(expStr) || !SIG_RE.test(sig)) return false;
    const expNum = Number(expStr);
    if (expNum * 1000 <= now()) return false;
    // compare the encoded strings (not decoded bytes): base64url's spare bits can't make a second valid form
    const given = Buffer.from(sig, 'ascii');
    const expected = Buffer.from(mac(jobId, expNum).toString('base64url'), 'ascii');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  function create(jobId: string): { url: string; exp: number; expiresAt: string } {
    const exp = Math.floor(now() / 1000) + ttlSeconds;
    const sig = sign(jobId, exp);
    return {
      url: `/v1/media/${encodeURIComponent(jobId)}?exp=${exp}&sig=${sig}`,
      exp,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  }

  function isExpired(exp: number | string): boolean {
    const expStr = String(exp);
    return EXP_RE.test(expStr) && Number(expStr) * 1000 <= now();
  }

  return { sign, verify, create, isExpired, ttlSeconds };
}
