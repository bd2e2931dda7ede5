// The jobs page: the upload form and the user's jobs, each with a thumbnail (its first frame),
// duration, top labels with counts, options, and live progress (frames, percent, time left);
// search by file name.
import { ApiError, api, watchJob } from './api.js';
import { labelColor } from './colors.js';
import { ellipsis, h, messageOf, swatch } from './dom.js';
import { fmtAgo, fmtBytes, fmtTime } from './format.js';
import { createEta, type Eta, optionsLine, progressLine } from './progress.js';
import { isFinished, type Job } from './types.js';
import { uploadForm } from './upload-form.js';

/** Live event streams at once: a browser allows six connections per server over HTTP/1.1. */
const MAX_STREAMS = 3;
/** How often jobs without a stream of their own are re-read (ms). */
const POLL_MS = 4000;

export function jobsView(): { el: HTMLElement; dispose(): void } {
  const watchers = new Map<string, () => void>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const etas = new Map<string, Eta>();
  const jobs = new Map<string, Job>();
  const items = new Map<string, HTMLLIElement>();
  const thumbEls = new Map<string, HTMLAnchorElement>();
  let disposed = false;
  let search = '';

  const listError = h('p', { class: 'error', role: 'alert' });
  const list = h('ul', { class: 'jobs', 'aria-labelledby': 'jobs-title' });
  const empty = h('p', { class: 'muted empty' }, 'No jobs yet: upload a video above.');
  const more = h('button', { type: 'button', hidden: true }, 'Show older jobs');
  const searchInput = h('input', {
    type: 'search',
    id: 'job-search',
    placeholder: 'File name',
    spellcheck: false,
    autocomplete: 'off',
  });
  const found = h('span', { class: 'small muted', 'aria-live': 'polite' });
  let nextCursor: string | null = null;

  const thumbs = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        const img = e.target as HTMLImageElement;
        thumbs.unobserve(img);
        const id = img.dataset.jobId;
        if (!id) continue;
        api
          .thumbnailUrl(id)
          .then((url) => {
            img.src = url;
          })
          .catch(() => img.classList.add('missing'));
      }
    },
    { rootMargin: '200px' },
  );

  function etaOf(job: Job): Eta {
    let e = etas.get(job.id);
    if (!e) {
      e = createEta(job.startedAt ? Date.parse(job.startedAt) : null);
      etas.set(job.id, e);
    }
    return e;
  }

  function progressBlock(job: Job): HTMLElement {
    const eta = etaOf(job);
    eta.add(Date.now(), job.progress.framesDone);
    const line = progressLine(
      job.status,
      job.progress,
      eta.secondsLeft(job.progress.framesTotal, Date.now()),
    );
    return h(
      'div',
      { class: 'job-progress' },
      h('progress', {
        max: 100,
        value: job.status === 'queued' ? 0 : job.progress.percent,
        'aria-label': `Progress of ${job.video.originalName}`,
        'aria-valuetext': line,
      }),
      h('span', { class: 'small progress-text' }, line),
    );
  }

  function topLabels(job: Job): HTMLElement | null {
    const labels = [...(job.summary?.labels ?? [])].sort((a, b) => b.frames - a.frames);
    if (job.status !== 'completed') return null;
    if (labels.length === 0) return h('p', { class: 'small muted' }, 'Nothing detected');
    const shown = labels.slice(0, 4);
    return h(
      'p',
      { class: 'small top-labels' },
      shown.map((l) =>
        h(
          'span',
          { class: 'chip', title: `${l.label}: in ${l.frames} analysed frames` },
          swatch(labelColor(l.label)),
          `${l.label} ${l.frames}`,
        ),
      ),
      labels.length > shown.length
        ? h('span', { class: 'muted' }, ` +${labels.length - shown.length} more`)
        : null,
    );
  }

  function render(job: Job): HTMLLIElement {
    const name = job.video.originalName || job.id;
    const p = job.video.probe;
    const href = `#/jobs/${encodeURIComponent(job.id)}`;
    let thumb = thumbEls.get(job.id);
    if (!thumb) {
      const img = h('img', { alt: '', width: 128, height: 72, decoding: 'async', 'data-job-id': job.id });
      thumbs.observe(img);
      // the picture repeats the link below: hidden from keyboards and screen readers
      thumb = h('a', { href, class: 'thumb', tabindex: -1, 'aria-hidden': 'true' }, img);
      thumbEls.set(job.id, thumb);
    }
    const actions = h('div', { class: 'job-buttons' });
    if (!isFinished(job.status)) {
      actions.append(
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Cancel ${name}`,
            onclick: async () => {
              try {
                upsert(await api.cancelJob(job.id));
              } catch (err) {
                listError.textContent = messageOf(err, 'Could not cancel the job.');
              }
            },
          },
          'Cancel',
        ),
      );
    }
    actions.append(
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'aria-label': `Delete ${name}`,
          onclick: async () => {
            if (!confirm(`Delete the job for ${name}? Its video and detections are removed.`)) return;
            try {
              await api.deleteJob(job.id);
              remove(job.id);
            } catch (err) {
              listError.textContent = messageOf(err, 'Could not delete the job.');
            }
          },
        },
        'Delete',
      ),
    );
    return h(
      'li',
      { class: 'job', 'data-job-id': job.id, 'data-status': job.status },
      thumb,
      h(
        'div',
        { class: 'job-main' },
        h(
          'div',
          { class: 'job-title' },
          ellipsis('a', name, { href, class: 'job-link' }),
          h('span', { class: `badge ${job.status}` }, job.status),
        ),
        h(
          'p',
          { class: 'small muted meta' },
          [
            fmtTime(p.durationSec, 0),
            `${p.video.width}×${p.video.height}`,
            fmtBytes(job.video.sizeBytes),
            fmtAgo(Date.parse(job.createdAt), Date.now()),
          ].join(' · '),
        ),
        topLabels(job),
        isFinished(job.status) ? null : progressBlock(job),
        job.error ? h('p', { class: 'error small' }, job.error) : null,
        h('p', { class: 'small muted options' }, optionsLine(job)),
      ),
      actions,
    );
  }

  function upsert(job: Job, prepend = false): void {
    const before = jobs.get(job.id);
    jobs.set(job.id, job);
    const old = items.get(job.id);
    // same status: only the progress moves (the rest of the item, and the focus in it, stay)
    const oldProgress = old?.querySelector('.job-progress');
    if (old && before?.status === job.status && oldProgress && !isFinished(job.status)) {
      oldProgress.replaceWith(progressBlock(job));
      return;
    }
    const li = render(job);
    if (old) old.replaceWith(li);
    else if (prepend) list.prepend(li);
    else list.append(li);
    items.set(job.id, li);
    empty.hidden = items.size > 0;
    if (isFinished(job.status)) stopWatching(job.id);
    else watch(job.id);
  }

  function remove(id: string): void {
    stopWatching(id);
    items.get(id)?.remove();
    items.delete(id);
    thumbEls.delete(id);
    jobs.delete(id);
    empty.hidden = items.size > 0;
  }

  function stopWatching(id: string): void {
    watchers.get(id)?.();
    watchers.delete(id);
  }

  function later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!disposed) fn();
    }, ms);
    timers.add(t);
  }

  function watch(id: string): void {
    if (disposed || watchers.has(id) || watchers.size >= MAX_STREAMS) return;
    const stop = watchJob(id, {
      progress(e) {
        const job = jobs.get(id);
        // a finished job has a summary and times the event does not carry: read it whole
        if (isFinished(e.status)) void refresh(id);
        else if (job) upsert({ ...job, status: e.status, progress: e.progress });
      },
      status() {
        watchers.delete(id);
        void refresh(id);
      },
      broken() {
        watchers.delete(id);
        later(() => items.has(id) && void refresh(id), 3000);
      },
    });
    watchers.set(id, stop);
  }

  // jobs beyond MAX_STREAMS: re-read every few seconds until they finish
  function poll(): void {
    const waiting = [...jobs.values()].filter((j) => !isFinished(j.status) && !watchers.has(j.id));
    for (const j of waiting) void refresh(j.id);
    later(poll, POLL_MS);
  }

  async function refresh(id: string): Promise<void> {
    try {
      upsert(await api.getJob(id));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) remove(id);
    }
  }

  async function load(cursor?: string): Promise<void> {
    const forSearch = search;
    try {
      const page = await api.listJobs(cursor, forSearch || undefined);
      if (forSearch !== search) return; // a newer search has started
      for (const j of page.jobs) upsert(j);
      nextCursor = page.nextCursor;
      more.hidden = !nextCursor;
      empty.textContent = forSearch
        ? `No job’s file name contains “${forSearch}”.`
        : 'No jobs yet: upload a video above.';
      empty.hidden = items.size > 0;
      found.textContent = forSearch ? `${items.size}${nextCursor ? '+' : ''} found` : '';
    } catch (err) {
      listError.textContent = messageOf(err, 'Could not load your jobs.');
    }
  }
  more.addEventListener('click', () => nextCursor && void load(nextCursor));

  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  searchInput.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      search = searchInput.value.trim();
      for (const id of [...items.keys()]) remove(id);
      void load();
    }, 250);
  });

  void load();
  later(poll, POLL_MS);

  const el = h(
    'div',
    { class: 'jobs-view' },
    h('h1', null, 'Your videos'),
    uploadForm((job) => upsert(job, true)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'jobs-title' },
      h(
        'div',
        { class: 'list-head' },
        h('h2', { id: 'jobs-title' }, 'Jobs'),
        h(
          'div',
          { class: 'search' },
          h('label', { for: 'job-search' }, 'Search by file name'),
          searchInput,
          found,
        ),
      ),
      listError,
      empty,
      list,
      more,
    ),
  );
  return {
    el,
    dispose() {
      disposed = true;
      clearTimeout(searchTimer);
      thumbs.disconnect();
      for (const stop of watchers.values()) stop();
      watchers.clear();
      for (const t of timers) clearTimeout(t);
    },
  };
}
