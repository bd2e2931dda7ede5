// The "Objects" area of the review page: issue 11's tracks (GET /v1/jobs/:id/tracks), with the
// distinct objects per label as "only this label" toggles, and one row per track (a thumbnail of
// its best frame, its name, time span and frames). A click selects the track: the page seeks to its
// first frame, highlights its box (the others dimmed) and Shift + arrows follow it. It appears only
// where the server offers tracks (features.tracks, read from /openapi.json).
import { api } from './api.js';
import { labelColor } from './colors.js';
import { h, messageOf, swatch, uid } from './dom.js';
import type { Features } from './features.js';
import type { ReviewFilter } from './filters.js';
import { fmtTime, plural } from './format.js';
import { isOnlyLabel, labelCounts, trackName, trackSpanText, visibleTracks } from './tracks-model.js';
import type { Frame, Job, Track } from './types.js';

export interface ObjectsContext {
  job: Job;
  frames: readonly Frame[];
  features: Features;
  filter(): ReviewFilter;
  /** the selected track's id, or null */
  selected(): number | null;
  /** a track was chosen in the list (null: the selection was cleared) */
  onSelect(track: Track | null, where: 'first' | 'best'): void;
  /** "only this label" was pressed */
  onOnlyLabel(label: string): void;
  /** the tracks are loaded (for the stepper and the timeline) */
  onLoaded?(tracks: readonly Track[]): void;
  cleanups: (() => void)[];
}

export interface ObjectsPanel {
  el: HTMLElement;
  /** the filters or the selection changed: redraw the list */
  update(): void;
  track(id: number): Track | undefined;
}

const PAGE = 40;

export function objectsPanel(ctx: ObjectsContext): ObjectsPanel | null {
  if (!ctx.features.tracks) return null;
  let tracks: Track[] = [];
  let loaded = false;
  let failed = '';
  let shown = PAGE;
  const titleId = uid('objects-title');
  const total = h('span', { class: 'muted small objects-total' });
  const status = h('p', { class: 'muted small', role: 'status' }, 'Loading the objects…');
  const counts = h('div', { class: 'object-counts', role: 'group', 'aria-label': 'Only this label' });
  const selectedLine = h('div', { class: 'selected-object', hidden: true });
  const list = h('ul', { class: 'track-list', 'aria-labelledby': titleId });
  const more = h('button', { type: 'button', class: 'more', hidden: true });
  more.addEventListener('click', () => {
    shown += PAGE;
    update();
    // keep the keyboard where it was: on the first row just added
    (list.querySelectorAll('button.track')[shown - PAGE] as HTMLElement | undefined)?.focus();
  });

  const summaryCounts = new Map<string, number>();
  for (const s of ctx.job.summary?.labels ?? [])
    if (typeof s.objects === 'number') summaryCounts.set(s.label, s.objects);

  const timeOfFrame = new Map(ctx.frames.map((f) => [f.frameIndex, f.timestamp]));

  function row(t: Track, selected: boolean): HTMLElement {
    const name = trackName(t);
    const span = trackSpanText(t);
    const img = h('img', {
      class: 'track-thumb',
      src: t.thumbnailUrl,
      loading: 'lazy',
      decoding: 'async',
      width: 56,
      height: 56,
      alt: `${name}, its best frame${timeOfFrame.has(t.bestFrame) ? ` at ${fmtTime(timeOfFrame.get(t.bestFrame)!)}` : ''}`,
    });
    img.addEventListener('error', () => img.classList.add('broken'), { once: true });
    const b = h(
      'button',
      {
        type: 'button',
        class: `track${selected ? ' selected' : ''}`,
        'aria-pressed': selected ? 'true' : 'false',
        'data-track-id': t.id,
        'data-key': `track:${t.id}`,
        title: `${name}: ${span}, best score ${t.maxScore.toFixed(2)}`,
        onclick: () => ctx.onSelect(selected ? null : t, 'first'),
      },
      img,
      h(
        'span',
        { class: 'track-text' },
        h(
          'span',
          { class: 'track-name' },
          swatch(labelColor(t.label)),
          h('span', { class: 'ellipsis' }, name),
        ),
        h('span', { class: 'small muted track-span' }, span),
      ),
      h('span', { class: 'small muted track-score' }, t.maxScore.toFixed(2)),
    );
    return h('li', null, b);
  }

  function update(): void {
    // the rows are made anew: keep the keyboard focus on the same control
    const focusKey = el.contains(document.activeElement)
      ? (document.activeElement as HTMLElement | null)?.dataset.key
      : undefined;
    const wasSelected = shownSelection;
    fill();
    if (!focusKey) return;
    const find = (key: string) => el.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLElement | null;
    // "Clear" goes away with the selection: the focus goes to the track that was selected
    (find(focusKey) ?? (wasSelected === null ? null : find(`track:${wasSelected}`)))?.focus();
  }
  let shownSelection: number | null = null;

  function fill(): void {
    const f = ctx.filter();
    const sel = ctx.selected();
    shownSelection = sel;
    // counts per label: the toggles
    const c = labelCounts(tracks, summaryCounts);
    const sum = c.reduce((n, x) => n + x.count, 0);
    total.textContent = loaded ? plural(sum, 'object') : '';
    counts.replaceChildren(
      ...c.map(({ label, count }) => {
        const on = isOnlyLabel(f.labels, label);
        return h(
          'button',
          {
            type: 'button',
            class: `chip${on ? ' on' : ''}`,
            'aria-pressed': on ? 'true' : 'false',
            'data-key': `label:${label}`,
            title: on ? 'Show every label again' : `Show only ${label}`,
            onclick: () => ctx.onOnlyLabel(label),
          },
          swatch(labelColor(label)),
          h('span', { class: 'sr-only' }, 'Only '),
          label,
          ' ',
          h('span', { class: 'count' }, String(count)),
          h('span', { class: 'sr-only' }, count === 1 ? ' object' : ' objects'),
        );
      }),
    );
    counts.hidden = c.length === 0;

    // the selected track: its name, "Best frame" and "Clear"
    const st = sel === null ? undefined : tracks.find((t) => t.id === sel);
    selectedLine.hidden = st === undefined;
    if (st) {
      selectedLine.replaceChildren(
        h('span', { class: 'small' }, 'Selected: ', h('strong', null, trackName(st))),
        h(
          'button',
          {
            type: 'button',
            class: 'small-button',
            'data-key': 'best',
            'aria-label': `Best frame of ${trackName(st)}`,
            onclick: () => ctx.onSelect(st, 'best'),
          },
          'Best frame',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'small-button',
            'aria-label': `Clear the selection of ${trackName(st)}`,
            'data-key': 'clear',
            onclick: () => ctx.onSelect(null, 'first'),
          },
          'Clear',
        ),
      );
    }

    // the list
    const vis = visibleTracks(tracks, f);
    const page = vis.slice(0, Math.max(shown, sel === null ? 0 : vis.findIndex((t) => t.id === sel) + 1));
    list.replaceChildren(...page.map((t) => row(t, t.id === sel)));
    list.hidden = page.length === 0;
    const rest = vis.length - page.length;
    more.hidden = rest <= 0;
    more.textContent = `Show ${Math.min(PAGE, rest)} more (of ${rest})`;
    if (failed) status.textContent = failed;
    else if (!loaded) status.textContent = 'Loading the objects…';
    else if (tracks.length === 0) status.textContent = 'No object was tracked in this video.';
    else if (vis.length === 0) status.textContent = 'No object with the filters on screen.';
    else
      status.textContent =
        vis.length === tracks.length
          ? ''
          : `${plural(vis.length, 'object')} of ${tracks.length} with the filters on screen.`;
    status.hidden = status.textContent === '';
  }

  let disposed = false;
  ctx.cleanups.push(() => {
    disposed = true;
  });
  void (async () => {
    try {
      const all = await api.allTracks(ctx.job.id);
      if (disposed) return;
      tracks = all;
      loaded = true;
      ctx.onLoaded?.(tracks);
    } catch (err) {
      if (disposed) return;
      failed = messageOf(err, 'The objects could not be loaded.');
    }
    update();
  })();

  const el = h(
    'section',
    { class: 'card objects', 'aria-labelledby': titleId },
    h('div', { class: 'objects-head' }, h('h2', { id: titleId, class: 'h3' }, 'Objects'), total),
    counts,
    selectedLine,
    status,
    list,
    more,
  );
  update();
  return {
    el,
    update,
    track: (id) => tracks.find((t) => t.id === id),
  };
}
