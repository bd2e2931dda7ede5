import type {
  CreateRenderBody,
  FramesPage,
  Job,
  JobList,
  ModelList,
  ProgressEvent,
  Render,
  RenderCreated,
  RenderEnvelope,
  StatusEvent,
  ThumbnailUrl,
  TokenPair,
  TracksPage,
  User,
  UserEnvelope,
  VideoUrl,
} from './types.js';

/** An API error: `message` is the server's one sentence (`error.message`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// ---- tokens: localStorage when "keep me signed in", else sessionStorage ----
const KEY = 'web-detector.tokens';

interface Stored {
  accessToken: string;
  refreshToken: string;
  username?: string;
}

function readStore(): { data: Stored; storage: Storage } | null {
  for (const storage of [sessionStorage, localStorage]) {
    const raw = storage.getItem(KEY);
    if (!raw) continue;
    try {
      const data = JSON.parse(raw) as Stored;
      if (data.accessToken && data.refreshToken) return { data, storage };
    } catch {
      storage.removeItem(KEY);
    }
  }
  return null;
}

export const tokens = {
  get(): Stored | null {
    return readStore()?.data ?? null;
  },
  set(pair: Pick<TokenPair, 'accessToken' | 'refreshToken'>, username?: string, remember?: boolean): void {
    const current = readStore();
    const storage =
      remember === undefined
        ? (current?.storage ?? sessionStorage)
        : remember
          ? localStorage
          : sessionStorage;
    const data: Stored = {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      username: username ?? current?.data.username,
    };
    localStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY);
    storage.setItem(KEY, JSON.stringify(data));
  },
  clear(): void {
    localStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY);
  },
};

/** Called when the session is gone (refresh failed): the app shows the sign-in form. */
let onSignedOut: () => void = () => {};
export function setSignedOutHandler(fn: () => void): void {
  onSignedOut = fn;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}.`.replace(' .', '.');
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body?.error?.message) message = body.error.message;
    if (body?.error?.code) code = body.error.code;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, code, message);
}

export function errorFromXhr(xhr: XMLHttpRequest): ApiError {
  try {
    const body = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
    if (body?.error?.message)
      return new ApiError(xhr.status, body.error.code ?? `HTTP_${xhr.status}`, body.error.message);
  } catch {
    /* not JSON */
  }
  if (xhr.status === 0) return new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached.');
  return new ApiError(xhr.status, `HTTP_${xhr.status}`, `The server answered ${xhr.status}.`);
}

// ---- refresh: one at a time, shared by every call that got a 401 ----
let refreshing: Promise<boolean> | null = null;

export function refreshTokens(): Promise<boolean> {
  if (refreshing) return refreshing;
  const stored = tokens.get();
  if (!stored) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const res = await fetch('/v1/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: stored.refreshToken }),
      });
      if (!res.ok) return false;
      tokens.set((await res.json()) as TokenPair);
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => {
        refreshing = null;
      }, 0);
    }
  })();
  return refreshing;
}

function signedOut(): ApiError {
  tokens.clear();
  onSignedOut();
  return new ApiError(401, 'UNAUTHORIZED', 'Your session has ended: please sign in again.');
}

interface CallOptions {
  method?: string;
  json?: unknown;
  auth?: boolean;
}

/** fetch with the bearer token; on a 401, refreshes the tokens once and retries. */
export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const auth = opts.auth ?? true;
  const send = () => {
    const headers: Record<string, string> = {};
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    const t = tokens.get();
    if (auth && t) headers.authorization = `Bearer ${t.accessToken}`;
    return fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    });
  };
  let res = await send();
  if (res.status === 401 && auth && tokens.get()) {
    if (!(await refreshTokens())) throw signedOut();
    res = await send();
    if (res.status === 401) throw signedOut();
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

async function json<T>(path: string, opts?: CallOptions): Promise<T> {
  const res = await call(path, opts);
  return (await res.json()) as T;
}

let modelsCache: Promise<ModelList['models']> | null = null;

export const api = {
  async register(username: string, password: string): Promise<User> {
    return (
      await json<UserEnvelope>('/v1/auth/register', {
        method: 'POST',
        json: { username, password },
        auth: false,
      })
    ).user;
  },
  async login(username: string, password: string, remember: boolean): Promise<void> {
    const pair = await json<TokenPair>('/v1/auth/login', {
      method: 'POST',
      json: { username, password },
      auth: false,
    });
    tokens.set(pair, username, remember);
  },
  async logout(): Promise<void> {
    const t = tokens.get();
    tokens.clear();
    if (t) {
      await fetch('/v1/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: t.refreshToken }),
      }).catch(() => undefined);
    }
  },
  async me(): Promise<User> {
    return (await json<UserEnvelope>('/v1/auth/me')).user;
  },
  async listJobs(cursor?: string, search?: string): Promise<JobList> {
    const q = new URLSearchParams({ limit: '50' });
    if (cursor) q.set('cursor', cursor);
    if (search) q.set('q', search);
    return json(`/v1/jobs?${q}`);
  },
  /** The server's models and their labels (cached for the page's life: they change at restart). */
  models(): Promise<ModelList['models']> {
    modelsCache ??= json<ModelList>('/v1/models')
      .then((b) => b.models)
      .catch((e) => {
        modelsCache = null;
        throw e;
      });
    return modelsCache;
  },
  async thumbnailUrl(id: string, width = 256): Promise<string> {
    const q = new URLSearchParams({ width: String(width) });
    return (await json<ThumbnailUrl>(`/v1/jobs/${encodeURIComponent(id)}/thumbnail-url?${q}`)).url;
  },
  /** A job's detections with the filters on screen (`query` from filters.ts apiQuery), as a Blob. */
  async detectionsFile(id: string, query: URLSearchParams, format: 'json' | 'ndjson'): Promise<Blob> {
    const base = `/v1/jobs/${encodeURIComponent(id)}/detections`;
    if (format === 'ndjson') {
      const q = new URLSearchParams(query);
      q.set('format', 'ndjson');
      return (await call(`${base}?${q}`)).blob();
    }
    const frames = await api.allDetections(id, undefined, query);
    return new Blob([JSON.stringify({ frames, nextCursor: null }, null, 1)], { type: 'application/json' });
  },
  async getJob(id: string): Promise<Job> {
    return (await json<{ job: Job }>(`/v1/jobs/${encodeURIComponent(id)}`)).job;
  },
  async cancelJob(id: string): Promise<Job> {
    return (await json<{ job: Job }>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' })).job;
  },
  async deleteJob(id: string): Promise<void> {
    await call(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  },
  async videoUrl(id: string): Promise<VideoUrl> {
    return json(`/v1/jobs/${encodeURIComponent(id)}/video-url`);
  },
  /** A job's tracks (issue 11: not noise, by first frame), following nextCursor page by page. */
  async allTracks(id: string): Promise<TracksPage['tracks']> {
    const tracks: TracksPage['tracks'] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const q = new URLSearchParams({ limit: '1000' });
      if (cursor) q.set('cursor', cursor);
      const body: TracksPage = await json(`/v1/jobs/${encodeURIComponent(id)}/tracks?${q}`);
      tracks.push(...body.tracks);
      if (!body.nextCursor || body.nextCursor === cursor) break;
      cursor = body.nextCursor;
    }
    return tracks;
  },
  /** An export (issue 11) or any other authorised download: its body and the server's file name. */
  async download(path: string): Promise<{ blob: Blob; disposition: string | null }> {
    const res = await call(path);
    return { blob: await res.blob(), disposition: res.headers.get('content-disposition') };
  },
  /** POST /v1/jobs/:id/renders: an annotated video of what is on screen (issue 11). */
  async createRender(id: string, body: CreateRenderBody): Promise<RenderCreated['render']> {
    return (
      await json<RenderCreated>(`/v1/jobs/${encodeURIComponent(id)}/renders`, { method: 'POST', json: body })
    ).render;
  },
  async getRender(id: string, renderId: string): Promise<Render> {
    return (
      await json<RenderEnvelope>(`/v1/jobs/${encodeURIComponent(id)}/renders/${encodeURIComponent(renderId)}`)
    ).render;
  },
  /** Every analysed frame of a job, following nextCursor page by page. */
  async allDetections(
    id: string,
    onPage?: (framesSoFar: number) => void,
    filter?: URLSearchParams,
  ): Promise<FramesPage['frames']> {
    const frames: FramesPage['frames'] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100_000; page++) {
      const q = new URLSearchParams(filter);
      q.set('format', 'json');
      q.set('limit', '1000');
      if (cursor) q.set('cursor', cursor);
      const body: FramesPage = await json(`/v1/jobs/${encodeURIComponent(id)}/detections?${q}`);
      frames.push(...body.frames);
      onPage?.(frames.length);
      if (!body.nextCursor || body.nextCursor === cursor) break;
      cursor = body.nextCursor;
    }
    return frames;
  },
};

export interface UploadOptions {
  fps?: string;
  minScore?: string;
  labels?: string;
  model?: string;
}

/**
 * POST /v1/jobs with XMLHttpRequest (for upload progress). Resolves with the new job; rejects
 * with an ApiError carrying the server's sentence. A 401 refreshes the tokens and sends again once.
 */
export function uploadVideo(
  file: File,
  options: UploadOptions,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<Job> {
  const attempt = (): Promise<XMLHttpRequest> =>
    new Promise((resolve, reject) => {
      const form = new FormData();
      // text fields first, so the server knows the options before the file streams in
      if (options.fps) form.append('fps', options.fps);
      if (options.minScore) form.append('minScore', options.minScore);
      if (options.labels) form.append('labels', options.labels);
      if (options.model) form.append('model', options.model);
      form.append('video', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/v1/jobs');
      const t = tokens.get();
      if (t) xhr.setRequestHeader('authorization', `Bearer ${t.accessToken}`);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () =>
        reject(new ApiError(0, 'NETWORK_ERROR', 'The upload failed: the server could not be reached.'));
      xhr.onabort = () => reject(new ApiError(0, 'ABORTED', 'The upload was canceled.'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  return (async () => {
    let xhr = await attempt();
    if (xhr.status === 401 && tokens.get()) {
      if (!(await refreshTokens())) throw signedOut();
      onProgress(0);
      xhr = await attempt();
    }
    if (xhr.status === 401) throw signedOut();
    if (xhr.status < 200 || xhr.status >= 300) throw errorFromXhr(xhr);
    return (JSON.parse(xhr.responseText) as { job: Job }).job;
  })();
}

export interface JobEventHandlers {
  /** `event: progress`: the job's status and progress, whenever either changes */
  progress(e: ProgressEvent): void;
  /** `event: status`: the job finished (or was deleted); the stream has ended */
  status(e: StatusEvent): void;
  /** The stream broke (network) or its token expired (`event: expired`): the caller re-reads the job and may reopen. */
  broken(): void;
}

/** Server-Sent Events for one job (the token goes in the query: EventSource cannot set headers). */
export function watchJob(id: string, handlers: JobEventHandlers): () => void {
  const t = tokens.get();
  if (!t) return () => {};
  const es = new EventSource(
    `/v1/jobs/${encodeURIComponent(id)}/events?access_token=${encodeURIComponent(t.accessToken)}`,
  );
  let closed = false;
  const close = () => {
    closed = true;
    es.close();
  };
  es.addEventListener('progress', (e) => {
    try {
      handlers.progress(JSON.parse((e as MessageEvent<string>).data));
    } catch {
      /* ignore a malformed event */
    }
  });
  es.addEventListener('status', (e) => {
    close();
    try {
      handlers.status(JSON.parse((e as MessageEvent<string>).data));
    } catch {
      handlers.broken();
    }
  });
  // the access token in the URL expired: reopen with a fresh one (broken() re-reads the job, which
  // refreshes the token) instead of letting EventSource retry the old URL
  es.addEventListener('expired', () => {
    close();
    handlers.broken();
  });
  es.onerror = () => {
    if (closed) return;
    close();
    handlers.broken();
  };
  return close;
}

/** Downloads a Blob under a file name (through a temporary object URL). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
