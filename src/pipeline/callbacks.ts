import { createHmac } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import type { JobRecord } from '../db/repositories/jobs.js';
import { classifyAddress, isLocalName, normalizeHost } from '../net/address.js';

/**
 * Job callbacks: when a job completes or fails we POST its status to the `callbackUrl` the user
 * gave, signed so the receiver can tell it came from us:
 *
 *   X-WebDetector-Timestamp: <unix seconds>
 *   X-WebDetector-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with CALLBACK_SECRET>
 *
 * The timestamp is inside the signed text so a captured request cannot be replayed later with a
 * new timestamp. Retries come from the queue (the `notify` task, on the schedule in next.ts).
 *
 * Only http(s) URLs are accepted. With CALLBACK_ALLOWLIST set, the host must be on it (and may
 * then be anything, private included: the operator chose it). Without it, only hosts whose every
 * address is global unicast (see src/net/address.ts) are reached, so the service cannot be used to
 * probe the network it runs in. The check is made when the job is created (checkCallbackUrl, and
 * checkCallbackTarget for names) and again at delivery, where the connection goes to exactly the
 * address that was checked: the dispatcher's own lookup resolves the name once, refuses
 * non-public answers and hands the checked addresses to the socket (no second resolution, so a
 * DNS answer that changes between check and connect, "rebinding", gains nothing).
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

/** Resolves a hostname to every address it has (the system resolver by default; tests inject one). */
export type ResolveHost = (host: string) => Promise<string[]>;

const systemResolve: ResolveHost = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

export function signCallback(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const onAllowlist = (host: string, allowlist: readonly string[] | null) =>
  !!allowlist && allowlist.length > 0 && allowlist.includes(normalizeHost(host));

function refuseAddress(host: string, address: string, reason: string): CallbackUrlError {
  const what = normalizeHost(host) === normalizeHost(address) ? address : `${host} (${address})`;
  return new CallbackUrlError(
    `callbackUrl host ${what} is not a public address (${reason}); add it to CALLBACK_ALLOWLIST to allow it.`,
  );
}

/**
 * Everything that can be checked without DNS, done when the job is created and again at delivery:
 * scheme, credentials, the allowlist, and, without an allowlist, IP literals (in every form WHATWG
 * URL accepts: `[::ffff:127.0.0.1]`, `0x7f.1`, ...) and local names (`localhost.`, `*.internal`,
 * single labels). Throws CallbackUrlError with one sentence.
 */
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
  const host = normalizeHost(url.hostname);
  if (allowlist && allowlist.length > 0) {
    if (!onAllowlist(host, allowlist))
      throw new CallbackUrlError(`callbackUrl host ${host} is not on this server's callback allowlist.`);
    return url;
  }
  if (isIP(host)) {
    const c = classifyAddress(host);
    if (!c.global) throw refuseAddress(host, host, c.reason);
  } else if (isLocalName(host)) {
    throw new CallbackUrlError(
      `callbackUrl host ${host} is a local name; use a public host or add it to CALLBACK_ALLOWLIST.`,
    );
  }
  return url;
}

/**
 * The addresses a callback to `host` may connect to: all of them when the host is allowlisted,
 * otherwise all of them only if every one is global unicast (a name that also resolves to a
 * private address is refused as a whole: that is how rebinding and split answers are played).
 */
export async function resolveCallbackHost(
  host: string,
  opts: { allowlist: readonly string[] | null; resolve?: ResolveHost },
): Promise<string[]> {
  const name = normalizeHost(host);
  const addresses = isIP(name) ? [name] : await (opts.resolve ?? systemResolve)(name);
  if (addresses.length === 0) throw new CallbackUrlError(`callbackUrl host ${name} has no address.`);
  if (onAllowlist(name, opts.allowlist)) return addresses;
  for (const a of addresses) {
    const c = classifyAddress(a);
    if (!c.global) throw refuseAddress(name, a, c.reason);
  }
  return addresses;
}

/**
 * The DNS half of the check at job creation: refuses a name that resolves to a non-public address
 * now (400 at once, rather than a callback that silently never arrives). A name that does not
 * resolve at all is let through: delivery checks again, and DNS may be back by then.
 */
export async function checkCallbackTarget(
  url: URL,
  allowlist: readonly string[] | null,
  opts: { resolve?: ResolveHost; timeoutMs?: number } = {},
): Promise<void> {
  const resolve = opts.resolve ?? systemResolve;
  let timer: NodeJS.Timeout | undefined;
  // a slow resolver must not hold the upload's answer: after timeoutMs the name counts as unresolved
  const bounded: ResolveHost = (host) =>
    Promise.race([
      resolve(host),
      new Promise<string[]>((r) => {
        timer = setTimeout(() => r([]), opts.timeoutMs ?? 3000);
      }),
    ]).finally(() => clearTimeout(timer));
  try {
    await resolveCallbackHost(url.hostname, { allowlist, resolve: bounded });
  } catch (e) {
    if (e instanceof CallbackUrlError && !/has no address/.test(e.message)) throw e;
  }
}

/**
 * An undici dispatcher that connects only to checked addresses. Its socket-level lookup is the only
 * resolution made: it resolves, checks and returns the addresses the socket then connects to. IP
 * literals (which never reach a lookup) are checked by the connector before it opens anything.
 */
export function createCallbackDispatcher(opts: {
  allowlist: readonly string[] | null;
  resolve?: ResolveHost;
  timeoutMs?: number;
}): Agent {
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolveCallbackHost(hostname, opts).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = addresses.filter((a) => family === 0 || isIP(a) === family);
        if (usable.length === 0) {
          callback(new CallbackUrlError(`callbackUrl host ${hostname} has no IPv${family} address.`), '', 0);
        } else if (options.all) {
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            usable.map((address) => ({ address, family: isIP(address) })),
          );
        } else {
          callback(null, usable[0], isIP(usable[0]));
        }
      },
      (err) => callback(err, '', 0),
    );
  };
  const connect = buildConnector({ lookup, timeout: opts.timeoutMs ?? 10_000 });
  return new Agent({
    connect(options, callback) {
      const host = normalizeHost(options.hostname);
      if (isIP(host)) {
        // no lookup runs for a literal: check it here, before any socket exists
        resolveCallbackHost(host, opts).then(
          () => connect(options, callback),
          (err) => callback(err, null),
        );
        return;
      }
      connect(options, callback);
    },
  });
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
 * One delivery attempt: the receiver's status when it is a 2xx; throws on refusals, network errors
 * and (CallbackResponseError) on other answers, so the queue retries.
 */
export async function deliverCallback(
  url: string,
  payload: CallbackPayload,
  opts: {
    secret: string;
    allowlist: readonly string[] | null;
    timeoutMs?: number;
    now?: () => number;
    /** the resolver the dispatcher uses (tests) */
    resolve?: ResolveHost;
  },
): Promise<{ status: number }> {
  const parsed = checkCallbackUrl(url, opts.allowlist);
  const body = JSON.stringify(payload);
  const timestamp = Math.floor((opts.now ?? Date.now)() / 1000);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dispatcher = createCallbackDispatcher({
    allowlist: opts.allowlist,
    resolve: opts.resolve,
    timeoutMs,
  });
  try {
    // undici's request never follows redirects: a 3xx is an answer like any other non-2xx
    const res = await request(parsed, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'web-detector',
        'x-webdetector-timestamp': String(timestamp),
        'x-webdetector-signature': signCallback(opts.secret, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new CallbackResponseError(res.statusCode, parsed.host);
    }
    return { status: res.statusCode };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}
