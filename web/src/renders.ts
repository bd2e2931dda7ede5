// "Make an annotated video" (issue 11's renders): an MP4 with the boxes drawn, of what is on screen
// (the labels shown and the minimum score; optionally only the selected object). POST
// /v1/jobs/:id/renders, then GET …/renders/:renderId once a second while the page is open (bounded:
// exports-model.ts keepPolling), then a link to the signed URL (it needs no token).
import { api } from './api.js';
import { h, messageOf, uid } from './dom.js';
import {
  isRenderDone,
  isRenderFailed,
  keepPolling,
  RENDER_POLL_MS,
  renderLine,
  renderPercent,
  renderRequest,
} from './exports-model.js';
import type { Features } from './features.js';
import { describeFilter, type ReviewFilter } from './filters.js';
import { fmtTime } from './format.js';
import { trackName } from './tracks-model.js';
import type { Job, Render } from './types.js';

export interface RenderContext {
  job: Job;
  allLabels: readonly string[];
  features: Features;
  filter(): ReviewFilter;
  /** the selected track, for "only the selected object" */
  selected(): { id: number; label: string } | null;
  cleanups: (() => void)[];
}

export interface RenderPanel {
  el: HTMLElement;
  /** the filters or the selection changed */
  update(): void;
}

export function renderPanel(ctx: RenderContext): RenderPanel | null {
  if (!ctx.features.renders) return null;
  const titleId = uid('render-title');
  const what = h('p', { class: 'small muted', id: uid('render-what') });
  const onlySelected = h('input', { type: 'checkbox', id: uid('render-only') });
  const onlyLabel = h('label', { for: onlySelected.id });
  const onlyWrap = h('div', { class: 'check', hidden: true }, onlySelected, onlyLabel);
  const make = h(
    'button',
    { type: 'button', class: 'primary', 'aria-describedby': what.id },
    'Make an annotated video',
  );
  const bar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Annotated video progress' });
  const line = h('p', { class: 'small render-line', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'error small', role: 'alert' });
  const link = h('a', { class: 'button render-link', hidden: true }, 'Download the annotated video (MP4)');

  let disposed = false;
  /** a render is being asked for or drawn */
  let busy = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.cleanups.push(() => {
    disposed = true;
    clearTimeout(timer);
  });

  const base = (ctx.job.video.originalName || ctx.job.id).replace(/\.[^.]+$/, '');

  function show(r: Pick<Render, 'status'> & Partial<Render>): void {
    bar.hidden = isRenderDone(r) || isRenderFailed(r);
    bar.value = renderPercent(r);
    bar.setAttribute('aria-valuetext', renderLine(r));
    line.textContent = renderLine(r);
    const url = typeof r.url === 'string' ? r.url : '';
    if (isRenderDone(r) && url) {
      link.href = url;
      link.download = `${base}.annotated.mp4`;
      link.hidden = false;
    }
    setBusy(!(isRenderDone(r) || isRenderFailed(r)));
  }

  function setBusy(b: boolean): void {
    busy = b;
    make.disabled = busy || renderRequest(ctx.filter(), ctx.allLabels) === null;
    make.setAttribute('aria-busy', String(busy));
  }

  async function poll(id: string, startedAt: number, failures: number): Promise<void> {
    if (disposed) return;
    try {
      const r = await api.getRender(ctx.job.id, id);
      if (disposed) return;
      show(r);
      if (keepPolling(r, startedAt, Date.now())) {
        timer = setTimeout(() => void poll(id, startedAt, 0), RENDER_POLL_MS);
      } else if (!isRenderDone(r) && !isRenderFailed(r)) {
        line.textContent = 'Still drawing after a long time: reload the page later to check again.';
        setBusy(false);
      }
    } catch (err) {
      if (disposed) return;
      // a network blip: try a few more times, then say so
      if (failures < 5) timer = setTimeout(() => void poll(id, startedAt, failures + 1), RENDER_POLL_MS * 2);
      else {
        error.textContent = messageOf(err, 'Could not follow the annotated video.');
        setBusy(false);
      }
    }
  }

  make.addEventListener('click', async () => {
    const sel = ctx.selected();
    const body = renderRequest(
      ctx.filter(),
      ctx.allLabels,
      sel && onlySelected.checked && !onlyWrap.hidden ? [sel.id] : [],
    );
    if (!body) return;
    clearTimeout(timer);
    error.textContent = '';
    link.hidden = true;
    setBusy(true);
    line.textContent = 'Asking for an annotated video…';
    try {
      const r = await api.createRender(ctx.job.id, body);
      if (disposed) return;
      show(r);
      if (!isRenderDone(r) && !isRenderFailed(r)) void poll(r.id, Date.now(), 0);
    } catch (err) {
      error.textContent = messageOf(err, 'The annotated video could not be asked for.');
      line.textContent = '';
      setBusy(false);
    }
  });

  function update(): void {
    const f = ctx.filter();
    const sel = ctx.selected();
    onlyWrap.hidden = sel === null;
    if (sel) onlyLabel.textContent = `Only the selected object (${trackName(sel)})`;
    const none = renderRequest(f, ctx.allLabels) === null;
    what.textContent = none
      ? 'No label is shown: choose at least one in Filters.'
      : `An MP4 of the whole video with the boxes of ${describeFilter({ ...f, from: null, to: null }, (s) => fmtTime(s))}.`;
    setBusy(busy);
  }
  update();

  const el = h(
    'section',
    { class: 'card render', 'aria-labelledby': titleId },
    h('h2', { id: titleId, class: 'h3' }, 'Annotated video'),
    what,
    onlyWrap,
    h('div', { class: 'row' }, make),
    bar,
    line,
    error,
    link,
  );
  return { el, update };
}
