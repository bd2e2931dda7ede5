// Reviewing a completed job: the video with its boxes, frame stepping, the timeline, the filters
// (kept in the URL), the objects (tracks: select one to highlight and follow it), the summary, the
// downloads and exports of what is on screen, and an annotated video of it.
import { labelColor } from './colors.js';
import { clear, ellipsis, field, h, swatch, uid } from './dom.js';
import { downloadMenu } from './downloads.js';
import type { Features } from './features.js';
import { inRange, isShown, type ReviewState } from './filters.js';
import { fmtTime, parseTime, plural } from './format.js';
import { frameAt, indexOfFrameNumber, seekTimeOf, seekWhere, stepIndex } from './frames.js';
import { type ObjectsPanel, objectsPanel } from './objects.js';
import { contentRect, drawBoxes } from './overlay.js';
import { type RenderPanel, renderPanel } from './renders.js';
import { type ShortcutActions, shortcutsHelp, watchShortcuts } from './shortcuts.js';
import { createTimeline, type TimelineRow } from './timeline.js';
import {
  frameHasTrack,
  parseJump,
  toggleOnlyLabel,
  trackIdOf,
  trackName,
  trackPresence,
} from './tracks-model.js';
import type { Frame, Job, Track } from './types.js';

type VideoFrameCallback = (now: number, metadata: { mediaTime: number }) => void;
type RVFCVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: VideoFrameCallback) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export interface ReviewContext {
  job: Job;
  frames: Frame[];
  videoUrl: string;
  state: ReviewState;
  features: Features;
  /** the state changed: write it to the URL */
  onState(state: ReviewState): void;
  /** shows an error sentence on the page */
  onError(message: string): void;
  /** run at dispose */
  cleanups: (() => void)[];
}

export interface Review {
  /** the player column and the side column */
  el: HTMLElement;
  /** goes in the page header, next to the title: the Download menu (detections and exports) */
  actions: HTMLElement;
}

export function reviewView(ctx: ReviewContext): Review {
  const { job, frames } = ctx;
  const probe = job.video.probe;
  const fps = job.options.fps ?? probe.video.fps ?? 0;
  const state: ReviewState = { ...ctx.state };
  const summary = job.summary?.labels ?? [];
  const allLabels = summary.length
    ? summary.map((s) => s.label)
    : [...new Set(frames.flatMap((f) => f.detections.map((d) => d.label)))].sort();
  const times = Float64Array.from(frames, (f) => f.timestamp);
  let objects: ObjectsPanel | null = null;
  let render: RenderPanel | null = null;
  /** the selected track: from the track list once loaded, else its label from the detections */
  function selectedTrack(): { id: number; label: string } | null {
    if (state.track === null) return null;
    const t = objects?.track(state.track);
    if (t) return t;
    const label = labelOfTrack(state.track);
    return label === undefined ? null : { id: state.track, label };
  }
  let disposed = false;
  ctx.cleanups.push(() => {
    disposed = true;
  });

  // ---- player: <video> with a <canvas> exactly over the picture ----
  const video = h('video', {
    class: 'player',
    controls: true,
    preload: 'auto',
    playsInline: true,
    muted: true,
    src: ctx.videoUrl,
    'aria-label': `Video: ${job.video.originalName}`,
  }) as RVFCVideo;
  const canvas = h('canvas', { class: 'overlay', 'aria-hidden': 'true' });
  const ctx2d = canvas.getContext('2d')!;
  const stage = h('div', { class: 'stage' }, video, canvas);
  const nowText = h('p', { class: 'now small', id: uid('now') });

  let lastMediaTime = 0;
  let dpr = window.devicePixelRatio || 1;
  let scale = 1;
  let currentIndex = -1;

  const duration = () =>
    Number.isFinite(video.duration) && video.duration > 0 ? video.duration : probe.durationSec || 0;

  function layout(): void {
    const vw = video.videoWidth || probe.video.width || 0;
    const vh = video.videoHeight || probe.video.height || 0;
    const r = contentRect(video.clientWidth, video.clientHeight, vw, vh);
    dpr = window.devicePixelRatio || 1;
    canvas.style.left = `${video.offsetLeft + r.x}px`;
    canvas.style.top = `${video.offsetTop + r.y}px`;
    canvas.style.width = `${r.w}px`;
    canvas.style.height = `${r.h}px`;
    const w = Math.max(1, Math.round(r.w * dpr));
    const hh = Math.max(1, Math.round(r.h * dpr));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== hh) canvas.height = hh;
    // boxes are in the original video's pixels (the probe's size, which the decoded size matches)
    scale = canvas.width / (probe.video.width || vw || 1);
    draw(lastMediaTime);
  }

  function describe(t: number): string {
    const i = frameAt(frames, t);
    return i >= 0
      ? `${fmtTime(t)}, analysed frame ${frames[i].frameIndex} (${i + 1} of ${frames.length})`
      : `${fmtTime(t)}, before the first analysed frame`;
  }

  function draw(mediaTime: number, playing = false): void {
    lastMediaTime = mediaTime;
    const i = frameAt(frames, mediaTime);
    currentIndex = i;
    const frame = i >= 0 ? frames[i] : undefined;
    const n =
      frame && inRange(frame.timestamp, state)
        ? drawBoxes(ctx2d, frame, scale, state, dpr, state.track)
        : drawBoxes(ctx2d, undefined, scale, state, dpr);
    canvas.dataset.frameIndex = frame ? String(frame.frameIndex) : '';
    canvas.dataset.boxes = String(n);
    canvas.dataset.track = state.track === null ? '' : String(state.track);
    canvas.dataset.mediaTime = mediaTime.toFixed(3);
    nowText.textContent = frame
      ? `${fmtTime(mediaTime, 2)} · analysed frame ${frame.frameIndex} (${i + 1} of ${frames.length}) · ${plural(n, 'object')} shown`
      : `${fmtTime(mediaTime, 2)} · no analysed frame yet`;
    if (document.activeElement !== frameBox) frameBox.value = frame ? String(frame.frameIndex) : '';
    timeline.setTime(mediaTime, playing || !video.paused);
  }

  // in step with the frame on screen
  if (typeof video.requestVideoFrameCallback === 'function') {
    let handle = 0;
    const onFrame: VideoFrameCallback = (_now, meta) => {
      if (disposed) return;
      draw(meta.mediaTime, true);
      handle = video.requestVideoFrameCallback!(onFrame);
    };
    handle = video.requestVideoFrameCallback(onFrame);
    ctx.cleanups.push(() => video.cancelVideoFrameCallback?.(handle));
  } else {
    let raf = 0;
    const loop = () => {
      draw(video.currentTime, true);
      if (!video.paused && !video.ended) raf = requestAnimationFrame(loop);
    };
    video.addEventListener('play', () => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(loop);
    });
    ctx.cleanups.push(() => cancelAnimationFrame(raf));
  }
  // a seek or pause shows a frame that rVFC may not report (or reports late): redraw from currentTime
  for (const ev of ['seeked', 'pause', 'loadeddata', 'timeupdate'])
    video.addEventListener(ev, () => {
      if (video.paused) draw(video.currentTime);
    });
  let saveTimer: ReturnType<typeof setTimeout> | undefined;
  const saveTime = () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => {
      state.t = video.currentTime;
      ctx.onState(state);
    }, 400);
  };
  video.addEventListener('pause', saveTime);
  video.addEventListener('seeked', () => video.paused && saveTime());
  video.addEventListener('loadedmetadata', () => {
    layout();
    fitPlayer();
    if (state.t !== null && state.t > 0) seek(state.t);
  });
  video.addEventListener('error', () =>
    ctx.onError(
      'The video could not be played in this browser (its link may have expired: reload the page).',
    ),
  );
  ctx.cleanups.push(() => {
    clearTimeout(saveTimer);
    video.pause();
    video.removeAttribute('src');
    video.load();
  });

  function seek(t: number): void {
    video.currentTime = Math.min(Math.max(0, t), duration() || t);
    draw(video.currentTime);
  }
  function goTo(i: number): void {
    if (i < 0 || i >= frames.length) return;
    video.pause();
    seek(seekTimeOf(frames, i, fps));
  }

  // ---- frame stepping ----
  const selectId = uid('jump-label');
  const labelOptions = h(
    'optgroup',
    { label: 'Labels' },
    allLabels.map((l) => h('option', { value: `label:${l}` }, l)),
  );
  const trackOptions = h('optgroup', { label: 'Selected object' });
  const labelSelect = h('select', { id: selectId, class: 'jump-label' }, trackOptions, labelOptions);
  labelSelect.disabled = allLabels.length === 0;
  /** a track's label before the track list has loaded: from the detections */
  function labelOfTrack(id: number): string | undefined {
    for (const f of frames) for (const d of f.detections) if (trackIdOf(d) === id) return d.label;
    return undefined;
  }
  /** the stepper follows the selected track (its option on top), else the label it followed */
  function syncTrackOption(): void {
    const sel = selectedTrack();
    const before = parseJump(labelSelect.value);
    if (sel) {
      trackOptions.replaceChildren(h('option', { value: `track:${sel.id}` }, trackName(sel)));
      labelSelect.prepend(trackOptions);
      labelSelect.value = `track:${sel.id}`;
    } else {
      trackOptions.remove();
      trackOptions.replaceChildren();
      const back = before?.kind === 'label' ? before.label : undefined;
      if (back && allLabels.includes(back)) labelSelect.value = `label:${back}`;
      else if (allLabels.length) labelSelect.value = `label:${allLabels[0]}`;
    }
    syncJumpNames();
  }
  /** select a track (null: none): highlight it, follow it, and show its first or best frame */
  function selectTrack(
    t: Pick<Track, 'id' | 'label' | 'firstFrame' | 'bestFrame'> | null,
    where: 'first' | 'best',
  ): void {
    const previous = selectedTrack();
    state.track = t ? t.id : null;
    if (!t && previous && allLabels.includes(previous.label)) labelSelect.value = `label:${previous.label}`;
    syncTrackOption();
    timeline.setRows(rowsNow());
    timeline.setSelected(labelSelect.value || null);
    objects?.update();
    render?.update();
    ctx.onState(state);
    requestAnimationFrame(fitPlayer); // the timeline's height changed
    if (t) goTo(indexOfFrameNumber(frames, where === 'best' ? t.bestFrame : t.firstFrame));
    else draw(video.paused ? video.currentTime : lastMediaTime);
  }
  const has = (jump: string) => {
    const target = parseJump(jump);
    return (j: number) =>
      inRange(frames[j].timestamp, state) &&
      (target === null
        ? false
        : target.kind === 'label'
          ? frames[j].detections.some((d) => d.label === target.label && isShown(d, state))
          : frameHasTrack(frames[j], target.id, state.minScore));
  };
  const jumpName = () => labelSelect.selectedOptions[0]?.textContent || 'the label';
  const actions: ShortcutActions = {
    step: (dir) => goTo(stepIndex(frames.length, currentIndex, dir)),
    jump: (dir) => {
      if (!labelSelect.value) return;
      const j = seekWhere(frames.length, currentIndex, dir, has(labelSelect.value));
      if (j >= 0) goTo(j);
      else
        ctx.onError(
          `No ${dir > 0 ? 'later' : 'earlier'} frame shows ${jumpName()} with the filters on screen.`,
        );
    },
    edge: (end) => goTo(end ? frames.length - 1 : 0),
    togglePlay: () => (video.paused ? void video.play() : video.pause()),
  };
  const btn = (text: string, label: string, keys: string, onclick: () => void) =>
    h(
      'button',
      {
        type: 'button',
        class: 'icon',
        'aria-label': label,
        title: `${label} (${keys})`,
        'aria-keyshortcuts': keys,
        onclick,
      },
      text,
    );
  const prevDet = btn('◀', 'Previous detection of the label', 'Shift+ArrowLeft', () => actions.jump(-1));
  const nextDet = btn('▶', 'Next detection of the label', 'Shift+ArrowRight', () => actions.jump(1));
  const syncJumpNames = () => {
    const l = jumpName();
    prevDet.setAttribute('aria-label', `Previous frame with ${l}`);
    nextDet.setAttribute('aria-label', `Next frame with ${l}`);
    prevDet.title = `Previous frame with ${l} (Shift+←)`;
    nextDet.title = `Next frame with ${l} (Shift+→)`;
    timeline.setSelected(labelSelect.value || null);
  };
  labelSelect.addEventListener('change', syncJumpNames);
  const frameBox = h('input', {
    type: 'number',
    class: 'frame-box',
    min: String(frames[0]?.frameIndex ?? 0),
    max: String(frames[frames.length - 1]?.frameIndex ?? 0),
    step: '1',
    inputMode: 'numeric',
    'aria-label': 'Frame number',
  });
  frameBox.addEventListener('change', () => {
    const n = Number(frameBox.value);
    if (frameBox.value.trim() !== '' && Number.isFinite(n)) goTo(indexOfFrameNumber(frames, Math.round(n)));
  });
  const stepper = h(
    'div',
    { class: 'stepper', role: 'toolbar', 'aria-label': 'Frame stepping', 'aria-controls': nowText.id },
    h(
      'div',
      { class: 'group' },
      btn('|◀', 'Previous analysed frame', 'ArrowLeft', () => actions.step(-1)),
      btn('▶|', 'Next analysed frame', 'ArrowRight', () => actions.step(1)),
      h('label', { class: 'frame-label' }, h('span', { class: 'small muted' }, 'Frame'), frameBox),
    ),
    h(
      'div',
      { class: 'group' },
      prevDet,
      h('label', { for: selectId, class: 'sr-only' }, 'Label or object to jump between'),
      labelSelect,
      nextDet,
    ),
  );
  ctx.cleanups.push(watchShortcuts(actions, { video, ignoreInside: [] }));

  // ---- timeline ----
  function presence(label: string): Uint8Array {
    return Uint8Array.from(frames, (f) =>
      f.detections.some((d) => d.label === label && d.score >= state.minScore) ? 1 : 0,
    );
  }
  /** one row per label; the selected track gets its own row under its label's */
  function rowsNow(): TimelineRow[] {
    const sel = state.track === null ? null : selectedTrack();
    return summary.flatMap((s) => {
      const row: TimelineRow = {
        key: `label:${s.label}`,
        name: s.label,
        color: labelColor(s.label),
        count: String(s.frames),
        present: presence(s.label),
        off: state.labels !== null && !state.labels.includes(s.label),
      };
      if (!sel || sel.label !== s.label) return [row];
      const present = trackPresence(frames, sel.id, state.minScore);
      return [
        row,
        {
          key: `track:${sel.id}`,
          name: `#${sel.id}`,
          color: labelColor(sel.label),
          count: String(present.reduce((n, x) => n + x, 0)),
          present,
          off: row.off,
        },
      ];
    });
  }
  const timeline = createTimeline({
    duration: probe.durationSec || (frames.length ? frames[frames.length - 1].timestamp : 1),
    times,
    rows: rowsNow(),
    onSeek: (t) => seek(t),
    onSelectRow: (key) => {
      if (parseJump(key) && [...labelSelect.options].some((o) => o.value === key)) {
        labelSelect.value = key;
        syncJumpNames();
      }
    },
    describe,
  });
  ctx.cleanups.push(() => timeline.dispose());
  syncTrackOption();

  // ---- filters ----
  const labelBoxes = allLabels.map((label) => {
    const cb = h('input', { type: 'checkbox', value: label, id: uid('lbl') });
    cb.checked = state.labels === null || state.labels.includes(label);
    cb.addEventListener('change', applyFilters);
    return { label, cb };
  });
  const scoreInput = h('input', { type: 'range', min: '0', max: '1', step: '0.01', id: uid('min-score') });
  scoreInput.value = String(state.minScore);
  const scoreOut = h('output', { for: scoreInput.id }, state.minScore.toFixed(2));
  scoreInput.addEventListener('input', applyFilters);
  const fromField = field(
    'From',
    h('input', {
      type: 'text',
      inputMode: 'decimal',
      placeholder: 'start',
      spellcheck: false,
      autocomplete: 'off',
    }),
  );
  const toField = field(
    'To',
    h('input', {
      type: 'text',
      inputMode: 'decimal',
      placeholder: 'end',
      spellcheck: false,
      autocomplete: 'off',
    }),
  );
  fromField.input.value = state.from === null ? '' : fmtTime(state.from, 2);
  toField.input.value = state.to === null ? '' : fmtTime(state.to, 2);
  const rangeError = h('p', { class: 'error small', role: 'alert' });
  for (const f of [fromField.input, toField.input]) f.addEventListener('change', applyFilters);
  const reset = h('button', { type: 'button' }, 'Show everything');
  reset.addEventListener('click', () => {
    for (const l of labelBoxes) l.cb.checked = true;
    scoreInput.value = String(job.options.minScore);
    fromField.input.value = '';
    toField.input.value = '';
    applyFilters();
  });

  const menu = downloadMenu({
    job,
    allLabels,
    features: ctx.features,
    filter: () => state,
    onError: ctx.onError,
  });

  // ---- objects (tracks) and the annotated video ----
  objects = objectsPanel({
    job,
    frames,
    features: ctx.features,
    filter: () => state,
    selected: () => state.track,
    onSelect: (t, where) => selectTrack(t, where),
    onOnlyLabel: (label) => {
      const next = toggleOnlyLabel(state.labels, label);
      for (const l of labelBoxes) l.cb.checked = next === null || next.includes(l.label);
      applyFilters();
    },
    onLoaded: () => {
      syncTrackOption();
      timeline.setRows(rowsNow());
      timeline.setSelected(labelSelect.value || null);
    },
    cleanups: ctx.cleanups,
  });
  render = renderPanel({
    job,
    allLabels,
    features: ctx.features,
    filter: () => state,
    selected: () => selectedTrack(),
    cleanups: ctx.cleanups,
  });

  function applyFilters(): void {
    const checked = labelBoxes.filter((l) => l.cb.checked).map((l) => l.label);
    state.labels = checked.length === labelBoxes.length ? null : checked;
    state.minScore = Number(scoreInput.value);
    scoreOut.textContent = state.minScore.toFixed(2);
    rangeError.textContent = '';
    const read = (input: HTMLInputElement, name: string) => {
      const t = input.value.trim() === '' ? null : parseTime(input.value);
      if (t === null && input.value.trim() !== '') {
        rangeError.textContent = `${name}: write a time as seconds (12.5) or minutes:seconds (1:02.5).`;
        input.setAttribute('aria-invalid', 'true');
        return null;
      }
      input.removeAttribute('aria-invalid');
      return t;
    };
    let from = read(fromField.input as HTMLInputElement, 'From');
    let to = read(toField.input as HTMLInputElement, 'To');
    if (from !== null && to !== null && from > to) [from, to] = [to, from];
    state.from = from;
    state.to = to;
    timeline.setRows(rowsNow());
    timeline.setRange(from, to);
    ctx.onState(state);
    menu.update();
    objects?.update();
    render?.update();
    draw(video.paused ? video.currentTime : lastMediaTime);
  }
  timeline.setRange(state.from, state.to);

  const countOf = new Map(summary.map((s) => [s.label, s.frames]));
  const filters = h(
    'section',
    { class: 'card filters', 'aria-labelledby': 'filters-title' },
    h('h2', { id: 'filters-title', class: 'h3' }, 'Filters'),
    h(
      'fieldset',
      null,
      h('legend', null, 'Labels shown'),
      labelBoxes.length
        ? h(
            'div',
            { class: 'checks' },
            labelBoxes.map(({ label, cb }) =>
              h(
                'span',
                { class: 'check' },
                cb,
                h(
                  'label',
                  { for: cb.id },
                  swatch(labelColor(label)),
                  label,
                  h('span', { class: 'muted small count' }, String(countOf.get(label) ?? '')),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Nothing was detected.'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: scoreInput.id }, 'Minimum score'),
      h('div', { class: 'row nowrap' }, scoreInput, scoreOut),
    ),
    h('div', { class: 'row range-fields' }, fromField.wrap, toField.wrap),
    rangeError,
    reset,
  );

  // ---- summary ----
  const seekBtn = (label: string, what: string, t: number) =>
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        'aria-label': `${label} ${what} ${fmtTime(t)}: play from there`,
        onclick: () => {
          video.pause();
          seek(t);
        },
      },
      fmtTime(t),
    );
  const table = h(
    'table',
    { class: 'summary' },
    h('caption', null, `${plural(job.summary?.framesAnalysed ?? frames.length, 'frame')} analysed`),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Label', 'Frames', 'Best', 'Seen'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      null,
      summary.map((s) =>
        h(
          'tr',
          null,
          h(
            'th',
            { scope: 'row' },
            h('span', { class: 'label-cell' }, swatch(labelColor(s.label)), ellipsis('span', s.label)),
          ),
          h('td', null, String(s.frames)),
          h('td', null, s.maxScore.toFixed(2)),
          h(
            'td',
            { class: 'seen' },
            seekBtn(s.label, 'first seen', s.firstSeen),
            ' – ',
            seekBtn(s.label, 'last seen', s.lastSeen),
          ),
        ),
      ),
    ),
  );

  // ---- the player's size: on wide screens the video, the stepper and the timeline fit the window ----
  const playerCol = h('div', { class: 'player-col' }, stage, stepper, nowText, timeline.el);
  function fitPlayer(): void {
    if (disposed) return;
    if (window.matchMedia('(min-width: 900px) and (min-height: 560px)').matches) {
      const top = stage.getBoundingClientRect().top + window.scrollY;
      const below = playerCol.scrollHeight - stage.offsetHeight;
      const avail = window.innerHeight - top - below - 12;
      video.style.maxHeight = `${Math.max(200, Math.floor(avail))}px`;
    } else video.style.maxHeight = '';
    layout();
  }
  const ro = new ResizeObserver(() => layout());
  ro.observe(video);
  const onResize = () => fitPlayer();
  window.addEventListener('resize', onResize);
  ctx.cleanups.push(() => {
    ro.disconnect();
    window.removeEventListener('resize', onResize);
  });
  requestAnimationFrame(fitPlayer);

  const el = h(
    'div',
    { class: 'player-layout' },
    playerCol,
    h(
      'div',
      { class: 'side-col' },
      filters,
      objects?.el,
      render?.el,
      h('section', { class: 'card', 'aria-label': 'Summary' }, h('div', { class: 'table-fit' }, table)),
      shortcutsHelp(),
    ),
  );
  return { el, actions: menu.el };
}

/** Empties an element and shows a one-line status in it. */
export function showStatus(el: HTMLElement, text: string): HTMLElement {
  clear(el);
  const p = h('p', { class: 'muted', role: 'status' }, text);
  el.append(p);
  return p;
}
