import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';

/** A minimal API client for the benchmarks: register + login, upload a video, read a job. */

export interface JobView {
  id: string;
  status: string;
  progress?: { framesDone?: number; framesTotal?: number; chunksDone?: number; chunksTotal?: number };
  error?: string | null;
}

export async function registerAndLogin(base: string): Promise<string> {
  const creds = { username: `bench_${randomBytes(4).toString('hex')}`, password: 'benchmark password' };
  const post = (path: string) =>
    fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(creds),
    });
  const reg = await post('/v1/auth/register');
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const login = await post('/v1/auth/login');
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  return ((await login.json()) as { accessToken: string }).accessToken;
}

/** Uploads `file` as a new job (multipart, streamed from disk); returns the job id. */
export async function uploadVideo(
  base: string,
  token: string,
  file: string,
  fields: Record<string, string> = {},
): Promise<string> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('video', await openAsBlob(file), 'video.mp4');
  const r = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const text = await r.text();
  if (r.status !== 202) throw new Error(`upload: ${r.status} ${text}`);
  return (JSON.parse(text) as { job: { id: string } }).job.id;
}

export async function getJob(base: string, token: string, id: string): Promise<JobView> {
  const r = await fetch(`${base}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`get job: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { job: JobView }).job;
}

export const FINISHED = ['completed', 'failed', 'canceled'];
