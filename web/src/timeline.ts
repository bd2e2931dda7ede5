// The timeline under the video: a time axis, one row per label (and, with issue 11, per track)
// with a detection-density strip, a playhead, zoom for long videos, and the filter's time range.
// Pointer: press or drag anywhere on the rows or axis to seek to exactly that time; Ctrl/⌘ +
// wheel zooms around the pointer, Shift + wheel pans. Keyboard: the strip is one slider (one tab
// stop); the page's shortcuts step frames, Home/End go to the ends, + and - zoom.
import { h, swatch, uid } from './dom.js';
import { fmtTime } from './format.js';
import {
  axisTicks,
  densityBins,
  follow,
  panWindow,
  type TimeWindow,
  timeAtX,
  xAtTime,
  zoomWindow,
} from './timeline-model.js';

export interface TimelineRow {
  /** 'label:person' now; 'track:17' once tracks exist */
  key: string;
  name: string;
  color: string;
  /** a short count shown after the name ("42") */
  count: string;
  /** per analysed frame (same order as `times`): 1 where this row is present */
  present: Uint8Array;
  /** dimmed (filtered out) */
  off?: boolean;
}

export interface TimelineOptions {
  duration: number;
  /** the analysed frames' timestamps, sorted */
  times: Float64Array;
  rows: TimelineRow[];
  onSeek(t: number): void;
  onSelectRow?(key: string): void;
  /** the slider's spoken value: "0:03.2, analysed frame 32 of 120" */
  describe(t: number): string;
}

export interface Timeline {
  el: HTMLElement;
  /** the playhead; while `follow` the window pages along with it */
  setTime(t: number, followIt?: boolean): void;
  setRows(rows: TimelineRow[]): void;
  setRange(from: number | null, to: number | null): void;
  setSelected(key: string | null): void;
  dispose(): void;
}

export function createTimeline(opts: TimelineOptions): Timeline {
  const duration = Math.max(opts.duration, 0.001);
  let win: TimeWindow = { start: 0, end: duration };
  let rows = opts.rows;
  let now = 0;
  let range: { from: number | null; to: number | null } = { from: null, to: null };
  let selected: string | null = null;
  const titleId = uid('tl-title');

  const windowText = h('span', { class: 'tl-window small muted', 'aria-live': 'off' });
  const zoomOut = h(
    'button',
    { type: 'button', class: 'icon', 'aria-label': 'Zoom out', title: 'Zoom out (-)' },
    '−',
  );
  const zoomIn = h(
    'button',
    { type: 'button', class: 'icon', 'aria-label': 'Zoom in', title: 'Zoom in (+)' },
    '+',
  );
  const fit = h('button', { type: 'button', title: 'Show the whole video' }, 'Fit');
  const pan = h('input', {
    type: 'range',
    class: 'tl-pan',
    min: '0',
    max: '1000',
    step: '1',
    value: '0',
    'aria-label': 'Timeline window position',
  });

  const axis = h('div', { class: 'tl-axis', 'aria-hidden': 'true' });
  const axisHead = h('div', { class: 'tl-axis-head' });
  const playhead = h('div', { class: 'tl-playhead', 'aria-hidden': 'true' });
  const before = h('div', { class: 'tl-outside', 'aria-hidden': 'true' });
  const after = h('div', { class: 'tl-outside', 'aria-hidden': 'true' });
  const rowsEl = h('div', { class: 'tl-rows' });
  const body = h('div', { class: 'tl-body' }, rowsEl);
  const scrub = h(
    'div',
    {
      class: 'tl-scrub',
      role: 'slider',
      tabindex: 0,
      'aria-label': 'Play position (timeline)',
      'aria-valuemin': 0,
      'aria-valuemax': Math.round(duration * 1000) / 1000,
      'aria-valuenow': 0,
      'aria-describedby': titleId,
    },
    h('div', { class: 'tl-axis-row' }, axisHead, axis),
    body,
  );
  const lanesOverlay = h('div', { class: 'tl-overlay', 'aria-hidden': 'true' }, before, after, playhead);
  rowsEl.append(lanesOverlay);

  const el = h(
    'section',
    { class: 'card timeline', 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'tl-head' },
      h('h2', { id: titleId, class: 'h3' }, 'Timeline'),
      windowText,
      h('div', { class: 'tl-zoom', role: 'group', 'aria-label': 'Timeline zoom' }, zoomOut, zoomIn, fit),
    ),
    scrub,
    pan,
  );

  let canvases: { row: TimelineRow; canvas: HTMLCanvasElement; rowEl: HTMLElement }[] = [];

  function buildRows(): void {
    for (const c of canvases) c.rowEl.remove();
    canvases = rows.map((row) => {
      const canvas = h('canvas', { class: 'tl-lane', 'aria-hidden': 'true' });
      const rowEl = h(
        'div',
        {
          class: `tl-row${row.off ? ' off' : ''}${row.key === selected ? ' selected' : ''}`,
          'data-key': row.key,
        },
        h(
          'div',
          { class: 'tl-name', title: `${row.name} (${row.count})`, 'data-key': row.key },
          swatch(row.color),
          h('span', { class: 'ellipsis' }, row.name),
          h('span', { class: 'tl-count' }, row.count),
        ),
        canvas,
      );
      rowsEl.insertBefore(rowEl, lanesOverlay);
      return { row, canvas, rowEl };
    });
    if (rows.length === 0) {
      rowsEl.insertBefore(
        h('p', { class: 'muted small tl-empty' }, 'Nothing to show: no label was detected.'),
        lanesOverlay,
      );
    }
    draw();
  }

  /** The lanes' left edge and width inside the scrub area (the names column is on the left). */
  function laneGeometry(): { left: number; width: number } {
    const c = canvases[0]?.canvas ?? axis;
    const base = scrub.getBoundingClientRect();
    const r = c.getBoundingClientRect();
    return { left: r.left - base.left, width: r.width };
  }

  function drawLanes(): void {
    const dpr = window.devicePixelRatio || 1;
    for (const { row, canvas } of canvases) {
      const w = canvas.clientWidth;
      const hh = canvas.clientHeight;
      if (!w || !hh) continue;
      const W = Math.round(w * dpr);
      const H = Math.round(hh * dpr);
      if (canvas.width !== W) canvas.width = W;
      if (canvas.height !== H) canvas.height = H;
      const ctx = canvas.getContext('2d');
      if (!ctx) continue;
      ctx.clearRect(0, 0, W, H);
      const bins = Math.max(1, Math.floor(w / 2));
      const d = densityBins(opts.times, row.present, win, bins);
      const bw = W / bins;
      ctx.fillStyle = row.color;
      const pad = Math.round(4 * dpr);
      for (let b = 0; b < bins; b++) {
        if (d[b] <= 0) continue;
        ctx.globalAlpha = 0.35 + 0.65 * d[b];
        ctx.fillRect(Math.floor(b * bw), pad, Math.ceil(bw), H - 2 * pad);
      }
      ctx.globalAlpha = 1;
    }
  }

  function drawAxis(): void {
    const width = axis.clientWidth;
    const { step, ticks } = axisTicks(win, width);
    axis.replaceChildren(
      ...ticks.map((t) =>
        h(
          'span',
          { class: 'tl-tick', style: `left:${xAtTime(win, t, width)}px` },
          fmtTime(t, step < 1 ? 1 : 0),
        ),
      ),
    );
  }

  function placeOverlay(): void {
    const { left, width } = laneGeometry();
    const x = (t: number) => left + Math.min(width, Math.max(0, xAtTime(win, t, width)));
    const inView = now >= win.start && now <= win.end;
    playhead.hidden = !inView;
    playhead.style.left = `${x(now)}px`;
    before.style.left = `${left}px`;
    before.style.width = `${range.from === null ? 0 : x(range.from) - left}px`;
    after.style.left = `${range.to === null ? left + width : x(range.to)}px`;
    after.style.width = `${range.to === null ? 0 : left + width - x(range.to)}px`;
    scrub.setAttribute('aria-valuenow', String(Math.round(now * 1000) / 1000));
    scrub.setAttribute('aria-valuetext', opts.describe(now));
  }

  function draw(): void {
    el.dataset.start = String(win.start);
    el.dataset.end = String(win.end);
    windowText.textContent =
      win.start <= 0 && win.end >= duration
        ? `whole video, ${fmtTime(duration)}`
        : `${fmtTime(win.start)} – ${fmtTime(win.end)}`;
    const zoomed = win.end - win.start < duration - 1e-6;
    pan.hidden = !zoomed;
    fit.disabled = !zoomed;
    zoomOut.disabled = !zoomed;
    zoomIn.disabled = win.end - win.start <= Math.min(1, duration) + 1e-6;
    if (zoomed)
      pan.value = String(Math.round((win.start / Math.max(1e-9, duration - (win.end - win.start))) * 1000));
    drawAxis();
    drawLanes();
    placeOverlay();
  }

  function setWindow(w: TimeWindow): void {
    win = w;
    draw();
  }

  // ---- pointer: press and drag to seek; the name column selects the row ----
  let dragging = false;
  const seekAt = (clientX: number) => {
    const { left, width } = laneGeometry();
    const x = clientX - scrub.getBoundingClientRect().left - left;
    opts.onSeek(timeAtX(win, x, width));
  };
  scrub.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const name = (e.target as HTMLElement).closest?.('.tl-name') as HTMLElement | null;
    if (name?.dataset.key) {
      opts.onSelectRow?.(name.dataset.key);
      return;
    }
    dragging = true;
    scrub.setPointerCapture(e.pointerId);
    seekAt(e.clientX);
    e.preventDefault(); // no text selection; focus stays where it is
  });
  scrub.addEventListener('pointermove', (e) => {
    if (dragging) seekAt(e.clientX);
  });
  const stop = (e: PointerEvent) => {
    if (!dragging) return;
    dragging = false;
    if (scrub.hasPointerCapture(e.pointerId)) scrub.releasePointerCapture(e.pointerId);
  };
  scrub.addEventListener('pointerup', stop);
  scrub.addEventListener('pointercancel', stop);
  scrub.addEventListener(
    'wheel',
    (e) => {
      const span = win.end - win.start;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        const { left, width } = laneGeometry();
        const at = timeAtX(win, e.clientX - scrub.getBoundingClientRect().left - left, width);
        setWindow(zoomWindow(win, e.deltaY < 0 ? 0.8 : 1.25, at, duration));
      } else if ((e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) && span < duration) {
        e.preventDefault();
        const d = (e.shiftKey ? e.deltaY : e.deltaX) || e.deltaY;
        setWindow(panWindow(win, win.start + (d / Math.max(1, axis.clientWidth)) * span, duration));
      }
    },
    { passive: false },
  );
  scrub.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') setWindow(zoomWindow(win, 0.5, now, duration));
    else if (e.key === '-' || e.key === '_') setWindow(zoomWindow(win, 2, now, duration));
    else if (e.key === 'PageUp' || e.key === 'PageDown') {
      const span = win.end - win.start;
      opts.onSeek(Math.min(duration, Math.max(0, now + (e.key === 'PageUp' ? -0.1 : 0.1) * span)));
    } else return;
    e.preventDefault();
  });
  zoomIn.addEventListener('click', () => setWindow(zoomWindow(win, 0.5, now, duration)));
  zoomOut.addEventListener('click', () => setWindow(zoomWindow(win, 2, now, duration)));
  fit.addEventListener('click', () => setWindow({ start: 0, end: duration }));
  pan.addEventListener('input', () => {
    const span = win.end - win.start;
    setWindow(panWindow(win, (Number(pan.value) / 1000) * (duration - span), duration));
  });

  const ro = new ResizeObserver(() => draw());
  ro.observe(body);
  buildRows();

  return {
    el,
    setTime(t, followIt = true) {
      now = t;
      if (followIt) {
        const w = follow(win, t, duration);
        if (w !== win) {
          setWindow(w);
          return;
        }
      }
      placeOverlay();
    },
    setRows(next) {
      rows = next;
      buildRows();
    },
    setRange(from, to) {
      range = { from, to };
      placeOverlay();
    },
    setSelected(key) {
      selected = key;
      for (const c of canvases) c.rowEl.classList.toggle('selected', c.row.key === key);
    },
    dispose() {
      ro.disconnect();
    },
  };
}
