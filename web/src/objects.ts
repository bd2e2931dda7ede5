// The "Objects" area of the review page: tracks (issue 11's GET /v1/jobs/:id/tracks) with
// thumbnails, counts per label, click to seek and highlight. It appears only where the server
// offers tracks (features.tracks, read from /openapi.json); until then it renders nothing.
import { h } from './dom.js';
import type { Features } from './features.js';
import type { Job } from './types.js';

export interface ObjectsContext {
  job: Job;
  features: Features;
  seek(t: number): void;
}

export function objectsPanel(ctx: ObjectsContext): HTMLElement | null {
  if (!ctx.features.tracks) return null;
  // TODO(issue 11): once src/api/schemas.ts has Track/TrackList, list
  //   GET /v1/jobs/:id/tracks?label=&minFrames=&cursor=&limit=
  // here: one row per track (thumbnailUrl <img>, label swatch, "person #7", firstSeen–lastSeen as a
  // seek button, frames, maxScore), counts per label at the top with "only this label" toggles
  // (they set ReviewState.labels), and a click that seeks to firstSeen and asks the overlay to
  // highlight that trackId (drawBoxes gets a `highlight` option). The timeline takes the tracks as
  // rows (review.ts rowsNow, key `track:<id>`).
  return h(
    'section',
    { class: 'card objects', 'aria-labelledby': 'objects-title' },
    h('h2', { id: 'objects-title', class: 'h3' }, 'Objects'),
    h('p', { class: 'muted small' }, 'This server tracks objects; listing them here is not built yet.'),
  );
}
