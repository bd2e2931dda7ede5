import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { JobRecord } from '../db/repositories/jobs.js';

/**
 * Job callbacks: when a job completes or fails we POST its status to the `callbackUrl` the user
 * gave, signed so the receiver can tell it came from us:
 *
 *   X-WebDetector-Timestamp: <unix seconds>
 *   X-WebDetector-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with CALLBACK_SECRET>
 *
 * The timestamp is inside the signed text so a captured request cannot be replayed later with a
 * new timestamp. Retries with backoff come from the queue (the `notify` task).
 *
 * Only http(s) URLs are accepted. With CALLBACK_ALLOWLIST set, the host must be on it; without
 * it, any host is allowed except those that resolve to loopback, private, link-local or other
 * non-public addresses, so the service cannot be used to probe the network it runs in.
 */

export class CallbackUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallbackUrlError';
  }
}

/** The receiver answered, but not with a 2xx: the queue retries; the delivery log keeps the status. */
export class CallbackResponseError extends Error {
  constructor(
    readonly status: number,
    host: string,
  ) {
    super(`callback to ${host} answered HTTP ${status}`);
    this.name = 'CallbackResponseError';
  }
}

export function signCallback(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Syntax and allowlist check, done when the job is created. Throws CallbackUrlError. */
export function checkCallbackUrl(raw: string, allowlist: readonly string[] | null): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlError('callbackUrl must be an absolute http or https URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CallbackUrlError('callbackUrl must use http or https.');
  }
  if (url.username || url.password) throw new CallbackUrlError('callbackUrl must not contain credentials.');
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (allowlist && allowlist.length > 0 && !allowlist.includes(host)) {
    throw new CallbackUrlError(`callbackUrl host ${host} is not on this server's callback allowlist.`);
  }
  return url;
}

/** True for addresses a callback must not reach unless explicitly allowlisted. */
export function isNonPublicAddress(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 198 && (b === 18 || b === 19)) ||
      a >= 224
    );
  }
  const v6 = ip.toLowerCase();
  if (v6 === '::1' || v6 === '::') return true;
  if (v6.startsWith('::ffff:')) return isNonPublicAddress(v6.slice(7));
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(v6);
}

/** Resolves the host and refuses non-public addresses when no allowlist is configured. */
export async function checkCallbackTarget(url: URL, allowlist: readonly string[] | null): Promise<void> {
  if (allowlist && allowlist.length > 0) return; // the operator chose the hosts explicitly
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.some(isNonPublicAddress)) {
    throw new CallbackUrlError(
      `callbackUrl host ${host} is a private or local address; add it to CALLBACK_ALLOWLIST to allow it.`,
    );
  }
}

export interface CallbackPayload {
  jobId: string;
  status: string;
  error: string | null;
  finishedAt: string | null;
  framesAnalysed: number;
  /** the client's own label for the job, as given at upload */
  tag: string | null;
  links: { self: string; detections: string };
}

/** What a callback says about a finished job (docs/api.md, "Callbacks"). */
export function callbackPayload(
  job: Pick<JobRecord, 'id' | 'status' | 'error' | 'finishedAt' | 'framesDone' | 'tag'>,
): CallbackPayload {
  const self = `/v1/jobs/${job.id}`;
  return {
    jobId: job.id,
    status: job.status,
    error: job.error,
    finishedAt: job.finishedAt ? job.finishedAt.toISOString() : null,
    framesAnalysed: job.framesDone,
    tag: job.tag,
    links: { self, detections: `${self}/detections` },
  };
}

/**
 * One delivery attempt: the receiver's status when it is a 2xx; throws on network errors and
 * (CallbackResponseError) on other answers, so the queue retries.
 */
export async function deliverCallback(
  url: string,
  payload: CallbackPayload,
  opts: { secret: string; allowlist: readonly string[] | null; timeoutMs?: number; now?: () => number },
): Promise<{ status: number }> {
  const parsed = checkCallbackUrl(url, opts.allowlist);
  await checkCallbackTarget(parsed, opts.allowlist);
  const body = JSON.stringify(payload);
  const timestamp = Math.floor((opts.now ?? Date.now)() / 1000);
  const res = await fetch(parsed, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'web-detector',
      'x-webdetector-timestamp': String(timestamp),
      'x-webdetector-signature': signCallback(opts.secret, timestamp, body),
    },
    body,
    redirect: 'manual', // a redirect could lead to a host the checks above did not see
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  await res.body?.cancel();
  if (res.status < 200 || res.status >= 300) throw new CallbackResponseError(res.status, parsed.host);
  return { status: res.status };
}
