// The pure parts of the review page's objects (issue 11's tracks): which tracks the list shows
// with the filters on screen, counts per label, the "only this label" toggle, how a box is drawn
// when a track is selected, its caption, and where the selected track is in the analysed frames.
// No DOM: unit-tested in test/unit/web. The functions take only the fields they read, so they work
// on the API's Track and Detection (src/api/schemas.ts) and on plain test objects alike.
import type { ReviewFilter } from './filters.js';
import { fmtTime, plural } from './format.js';

/** A detection's track id: a number, or null (no confirmed track, or a job analysed before tracking). */
export function trackIdOf(d: object): number | null {
  const id = (d as { trackId?: unknown }).trackId;
  return typeof id === 'number' && Number.isFinite(id) ? id : null;
}

/** How a box is drawn: as always (no track selected), emphasised (the selected track), or dimmed. */
export type Emphasis = 'normal' | 'selected' | 'dimmed';

export function emphasisOf(trackId: number | null, selected: number | null): Emphasis {
  if (selected === null) return 'normal';
  return trackId === selected ? 'selected' : 'dimmed';
}

/** A box's caption: "person #7 84%" with a track, "person 84%" without. */
export function captionText(d: { label: string; score: number }): string {
  const id = trackIdOf(d);
  return `${d.label}${id === null ? '' : ` #${id}`} ${(d.score * 100).toFixed(0)}%`;
}

/** The name a person reads for a track: "person #7". */
export const trackName = (t: { id: number; label: string }): string => `${t.label} #${t.id}`;

interface TrackSpan {
  label: string;
  firstSeen: number;
  lastSeen: number;
  maxScore: number;
}

/**
 * The tracks the list shows with the filters on screen: a shown label, a best score at least the
 * minimum, and some of its time inside the time range. Order kept (the API's: by first frame).
 */
export function visibleTracks<T extends TrackSpan>(tracks: readonly T[], f: ReviewFilter): T[] {
  return tracks.filter(
    (t) =>
      (f.labels === null || f.labels.includes(t.label)) &&
      t.maxScore >= f.minScore - 1e-9 &&
      (f.from === null || t.lastSeen >= f.from - 1e-6) &&
      (f.to === null || t.firstSeen <= f.to + 1e-6),
  );
}

/**
 * Distinct objects per label, most first (then by name). `fromSummary` (the job summary's counts,
 * when the server gives them) wins over counting the tracks loaded.
 */
export function labelCounts(
  tracks: readonly { label: string }[],
  fromSummary?: ReadonlyMap<string, number> | null,
): { label: string; count: number }[] {
  const counts = new Map<string, number>();
  if (fromSummary && fromSummary.size > 0) for (const [l, n] of fromSummary) counts.set(l, n);
  else for (const t of tracks) counts.set(t.label, (counts.get(t.label) ?? 0) + 1);
  return [...counts]
    .map(([label, count]) => ({ label, count }))
    .filter((c) => c.count > 0)
    .sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

/**
 * "Only this label": the labels shown after pressing it. Pressed when only that label is shown,
 * it shows every label again (null).
 */
export function toggleOnlyLabel(current: readonly string[] | null, label: string): string[] | null {
  return current !== null && current.length === 1 && current[0] === label ? null : [label];
}

export const isOnlyLabel = (current: readonly string[] | null, label: string): boolean =>
  current !== null && current.length === 1 && current[0] === label;

/** "0:03.2 – 0:41.0 · 38 frames": a track's time span and length in the list. */
export function trackSpanText(t: { firstSeen: number; lastSeen: number; frames: number }): string {
  return `${fmtTime(t.firstSeen)} – ${fmtTime(t.lastSeen)} · ${plural(t.frames, 'frame')}`;
}

/** Does this analysed frame have a detection of the track (with the filters' minimum score)? */
export function frameHasTrack(
  frame: { detections: readonly { score: number }[] },
  trackId: number,
  minScore = 0,
): boolean {
  return frame.detections.some((d) => trackIdOf(d) === trackId && d.score >= minScore);
}

/** Per analysed frame, 1 where the track is (a timeline row's `present`). */
export function trackPresence(
  frames: readonly { detections: readonly { score: number }[] }[],
  trackId: number,
  minScore = 0,
): Uint8Array {
  return Uint8Array.from(frames, (f) => (frameHasTrack(f, trackId, minScore) ? 1 : 0));
}

/**
 * What the stepper's "jump" control follows: a label (`label:person`) or a track (`track:7`).
 * Parsed from the select's value; anything else is null.
 */
export type JumpTarget = { kind: 'label'; label: string } | { kind: 'track'; id: number };

export function parseJump(value: string): JumpTarget | null {
  if (value.startsWith('label:') && value.length > 6) return { kind: 'label', label: value.slice(6) };
  const m = /^track:(\d+)$/.exec(value);
  return m ? { kind: 'track', id: Number(m[1]) } : null;
}
