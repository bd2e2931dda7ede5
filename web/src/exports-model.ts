// The pure parts of "export what I see" and "make an annotated video" (issue 11's exports and
// renders): the export request for the filters on screen, the file name, the render request's
// body, the words for a render's progress, and the bounded polling of a render. No DOM.
import { apiQuery, type ReviewFilter } from './filters.js';
import type { CreateRenderBody, Render } from './types.js';

/** What each export format is called on the menu (a format the server lists but not named here shows as it is). */
export const EXPORT_NAMES: Readonly<Record<string, string>> = {
  coco: 'COCO (JSON)',
  mot: 'MOT Challenge (text)',
  cvat: 'CVAT for video (XML)',
  yolo: 'YOLO (zip)',
  csv: 'CSV',
};

/** The file ending when the server's answer names no file. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  coco: 'coco.json',
  mot: 'mot.txt',
  cvat: 'cvat.xml',
  yolo: 'yolo.zip',
  csv: 'csv',
};

export const exportName = (format: string): string => EXPORT_NAMES[format] ?? format.toUpperCase();

/** The server's formats in the menu's order: the named ones first (as above), then any others. */
export function orderFormats(formats: readonly string[]): string[] {
  const known = Object.keys(EXPORT_NAMES);
  return [...new Set(formats)].sort(
    (a, b) =>
      (known.includes(a) ? known.indexOf(a) : known.length) -
        (known.includes(b) ? known.indexOf(b) : known.length) || a.localeCompare(b),
  );
}

/**
 * `GET /v1/jobs/:id/export?format=…` with the filters on screen (label, minScore, from, to; a
 * selected track's `trackId` when given). Null when no label is shown (nothing to export).
 */
export function exportPath(
  jobId: string,
  format: string,
  f: ReviewFilter,
  allLabels: readonly string[],
  trackId: number | null = null,
): string | null {
  const filter = apiQuery(f, allLabels);
  if (!filter) return null;
  const q = new URLSearchParams({ format });
  for (const [k, v] of filter) q.set(k, v);
  if (trackId !== null) q.set('trackId', String(trackId));
  return `/v1/jobs/${encodeURIComponent(jobId)}/export?${q}`;
}

/**
 * The name to save an export under: the video's name (like the detections' downloads) with the
 * ending the server gives (its Content-Disposition name is `<job id>.<ending>`), else this table's.
 */
export function exportFileName(videoName: string, format: string, disposition: string | null): string {
  const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition ?? '')?.[1] ?? '';
  const dot = named.indexOf('.');
  const ending = dot > 0 ? named.slice(dot + 1).replace(/[^A-Za-z0-9.]/g, '') : '';
  const base = (videoName || 'export').replace(/\.[^.]+$/, '').replace(/[/\\]/g, '_');
  return `${base}.${ending || (EXTENSIONS[format] ?? format)}`;
}

/**
 * `POST /v1/jobs/:id/renders`'s body for what is on screen: the labels shown (left out when every
 * label is), the minimum score, and the tracks when some are chosen. Null when no label is shown.
 */
export function renderRequest(
  f: ReviewFilter,
  allLabels: readonly string[],
  tracks: readonly number[] = [],
): CreateRenderBody | null {
  const body: CreateRenderBody = { minScore: f.minScore };
  if (f.labels !== null) {
    const shown = allLabels.filter((l) => f.labels!.includes(l));
    if (shown.length === 0) return null;
    if (shown.length < allLabels.length) body.labels = shown;
  }
  if (tracks.length > 0) body.tracks = [...tracks];
  return body;
}

/** What the page reads of a render: POST's answer has only id and status, GET's the rest. */
type RenderLike = Pick<Render, 'status'> & Partial<Pick<Render, 'progress' | 'url' | 'error'>>;

/** A render's progress in whole percent (the API's `progress` is a percent); 100 only once done. */
export function renderPercent(r: RenderLike): number {
  if (isRenderDone(r)) return 100;
  const p = typeof r.progress === 'number' && Number.isFinite(r.progress) ? r.progress : 0;
  return Math.max(0, Math.min(99, Math.floor(p)));
}

export const isRenderDone = (r: RenderLike): boolean => r.status === 'completed' && Boolean(r.url);
export const isRenderFailed = (r: RenderLike): boolean => r.status === 'failed';

/** The line people read while a render runs (a failure gives the server's sentence). */
export function renderLine(r: RenderLike): string {
  if (isRenderDone(r)) return 'The annotated video is ready.';
  if (isRenderFailed(r)) return `The annotated video could not be made${r.error ? `: ${r.error}` : '.'}`;
  if (r.status === 'queued') return 'Queued: waiting for a worker…';
  return `Drawing the boxes… ${renderPercent(r)}%`;
}

/** Polling a render: once a second, for at most this long (then the page says to reload). */
export const RENDER_POLL_MS = 1000;
export const RENDER_POLL_LIMIT_MS = 30 * 60 * 1000;

/** Should the page ask again? Not when it is finished, nor past the limit. */
export function keepPolling(r: RenderLike, startedAt: number, now: number): boolean {
  return !isRenderDone(r) && !isRenderFailed(r) && now - startedAt < RENDER_POLL_LIMIT_MS;
}
