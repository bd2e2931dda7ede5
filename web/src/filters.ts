// What the reviewer has chosen to see, kept in the page's URL so a view can be shared and
// survives a reload: #/jobs/<id>?labels=person,car&minScore=0.4&from=2&to=8&t=3.2 (pure).
import type { Detection } from './types.js';

export interface ReviewFilter {
  /** labels shown; null: every label */
  labels: readonly string[] | null;
  minScore: number;
  /** seconds, inclusive; null: the start / the end of the video */
  from: number | null;
  to: number | null;
}

export interface ReviewState extends ReviewFilter {
  /** the time the player was at */
  t: number | null;
  /** the selected track (issue 11), highlighted on the picture and followed by Shift + arrows */
  track: number | null;
}

const num = (v: string | null, lo: number, hi: number): number | null => {
  if (v === null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= lo && n <= hi ? n : null;
};

/** Reads the state from the URL's query; anything malformed falls back to the defaults. */
export function readState(q: URLSearchParams, defaults: { minScore: number }): ReviewState {
  const rawLabels = q.get('labels');
  const labels =
    rawLabels === null
      ? null
      : rawLabels
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean);
  let from = num(q.get('from'), 0, 1e7);
  let to = num(q.get('to'), 0, 1e7);
  if (from !== null && to !== null && from > to) [from, to] = [to, from];
  return {
    labels,
    minScore: num(q.get('minScore'), 0, 1) ?? defaults.minScore,
    from,
    to,
    t: num(q.get('t'), 0, 1e7),
    track: trackParam(q.get('track')),
  };
}

/** Writes the state as a query; defaults are left out so a plain view has a plain URL. */
export function writeState(s: ReviewState, defaults: { minScore: number }): URLSearchParams {
  const q = new URLSearchParams();
  if (s.labels !== null) q.set('labels', s.labels.join(','));
  if (Math.abs(s.minScore - defaults.minScore) > 1e-9) q.set('minScore', String(s.minScore));
  if (s.from !== null) q.set('from', String(round3(s.from)));
  if (s.to !== null) q.set('to', String(round3(s.to)));
  if (s.t !== null && s.t > 0) q.set('t', String(round3(s.t)));
  if (s.track !== null) q.set('track', String(s.track));
  return q;
}

const trackParam = (v: string | null): number | null =>
  v !== null && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : null;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function isShown(d: Detection, f: ReviewFilter): boolean {
  return d.score >= f.minScore && (f.labels === null || f.labels.includes(d.label));
}

export function inRange(t: number, f: ReviewFilter): boolean {
  return (f.from === null || t >= f.from - 1e-6) && (f.to === null || t <= f.to + 1e-6);
}

/**
 * The detections API's query for what is on screen (the downloads and, with issue 11, the
 * exports): label (comma-separated), minScore, from, to. Null when no label is shown at all.
 */
export function apiQuery(f: ReviewFilter, allLabels: readonly string[]): URLSearchParams | null {
  const q = new URLSearchParams();
  if (f.labels !== null) {
    const shown = f.labels.filter((l) => allLabels.includes(l));
    if (shown.length === 0) return null;
    if (shown.length < allLabels.length) q.set('label', shown.join(','));
  }
  q.set('minScore', String(f.minScore));
  if (f.from !== null) q.set('from', String(f.from));
  if (f.to !== null) q.set('to', String(f.to));
  return q;
}

/** In words, for the download menu: "person, car · score ≥ 0.40 · 0:02.0 to 0:08.0". */
export function describeFilter(f: ReviewFilter, fmt: (sec: number) => string): string {
  const parts = [f.labels === null ? 'every label' : f.labels.length ? f.labels.join(', ') : 'no label'];
  parts.push(`score ≥ ${f.minScore.toFixed(2)}`);
  if (f.from !== null || f.to !== null) {
    parts.push(`${f.from === null ? 'start' : fmt(f.from)} to ${f.to === null ? 'end' : fmt(f.to)}`);
  }
  return parts.join(' · ');
}
