import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';

/** Small fetch helpers for the API tests. */

export interface Res<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { json?: unknown; token?: string; body?: RequestInit['body']; headers?: Record<string, string> } = {},
): Promise<Res<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof opts.json === 'string' ? opts.json : JSON.stringify(opts.json);
  }
  // a streamed body (chunked, no Content-Length) needs undici's half-duplex mode
  const duplex = body instanceof ReadableStream ? { duplex: 'half' } : {};
  const res = await fetch(base + path, { method, headers, body, ...duplex } as RequestInit);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Asserts an error response: status, code, a one-sentence message, no stack, a request id. */
export function assertError(res: Res, status: number, code?: string): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.ok(
    res.body && typeof res.body === 'object' && res.body.error,
    `no error body: ${res.text.slice(0, 300)}`,
  );
  if (code) assert.equal(res.body.error.code, code);
  const msg: string = res.body.error.message;
  assert.equal(typeof msg, 'string');
  assert.match(msg, /^[A-Za-z0-9"'/].*[.]$/s, `message is not a sentence: ${msg}`);
  assert.ok(msg.length < 300, 'message too long');
  assert.doesNotMatch(res.text, /\n\s+at |node_modules|\.ts:\d+/, 'response leaks a stack');
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.ok(res.headers.get('x-request-id'), 'x-request-id header');
}

let counter = 0;
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

export async function registerAndLogin(
  base: string,
  username = uniqueName(),
  password = 'correct horse battery',
) {
  const reg = await call(base, 'POST', '/v1/auth/register', { json: { username, password } });
  assert.equal(reg.status, 201, reg.text);
  const login = await call(base, 'POST', '/v1/auth/login', { json: { username, password } });
  assert.equal(login.status, 200, login.text);
  return {
    username,
    password,
    userId: reg.body.user.id as string,
    ...(login.body as { accessToken: string; refreshToken: string }),
  };
}

/** POST /v1/jobs with a file (streamed from disk) and text fields, fields after the file unless `fieldsFirst`. */
export async function upload(
  base: string,
  token: string,
  file: string | Blob | null,
  fields: Record<string, string | string[]> = {},
  opts: { filename?: string; fieldName?: string; fieldsFirst?: boolean } = {},
): Promise<Res> {
  const form = new FormData();
  const addFields = () => {
    for (const [k, v] of Object.entries(fields))
      for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  };
  if (opts.fieldsFirst) addFields();
  if (file !== null) {
    const blob = typeof file === 'string' ? await openAsBlob(file) : file;
    form.append(opts.fieldName ?? 'video', blob, opts.filename ?? 'video.mp4');
  }
  if (!opts.fieldsFirst) addFields();
  return call(base, 'POST', '/v1/jobs', { token, body: form });
}
