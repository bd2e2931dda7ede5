// One job's page: while it runs, live progress (frames, percent, time left) from its event
// stream; once completed, the review (review.ts); failed or canceled, the reason.
import { api, watchJob } from './api.js';
import { clear, ellipsis, h, messageOf } from './dom.js';
import { features } from './features.js';
import { type ReviewState, readState, writeState } from './filters.js';
import { fmtBytes, fmtTime } from './format.js';
import { createEta, optionsLine, progressLine } from './progress.js';
import { reviewView, showStatus } from './review.js';
import { isFinished, type Job } from './types.js';

export function jobView(id: string, query: URLSearchParams): { el: HTMLElement; dispose(): void } {
  const cleanups: (() => void)[] = [];
  let disposed = false;
  const error = h('p', { class: 'error', role: 'alert' });
  const title = h('h1', { class: 'job-title' }, 'Loading the job…');
  const badge = h('span', { class: 'badge' });
  const meta = h('p', { class: 'muted small meta' });
  const actions = h('div', { class: 'header-actions' });
  const header = h(
    'header',
    { class: 'job-header' },
    h('div', { class: 'title-row' }, title, badge, actions),
    meta,
  );
  const body = h('div', { class: 'job-body' });
  const el = h(
    'div',
    { class: 'job-view' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/', class: 'back' }, '← All jobs')),
    header,
    error,
    body,
  );
  showStatus(body, 'Loading…');

  function renderHeader(job: Job): void {
    const name = job.video.originalName || job.id;
    title.replaceChildren(ellipsis('span', name));
    title.title = name;
    document.title = `${name} · web-detector`;
    badge.className = `badge ${job.status}`;
    badge.textContent = job.status;
    const p = job.video.probe;
    meta.textContent = [
      fmtBytes(job.video.sizeBytes),
      `${p.video.width}×${p.video.height}`,
      `${p.video.fps.toFixed(2)} fps`,
      fmtTime(p.durationSec),
      optionsLine(job),
    ].join(' · ');
  }

  function renderRunning(job: Job): void {
    clear(body);
    const eta = createEta(job.startedAt ? Date.parse(job.startedAt) : null);
    const bar = h('progress', { max: 100, value: 0, 'aria-labelledby': 'progress-title' });
    const line = h('p', { class: 'progress-text', role: 'status', 'aria-live': 'polite' });
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const show = (j: Job) => {
      eta.add(Date.now(), j.progress.framesDone);
      bar.value = j.status === 'queued' ? 0 : j.progress.percent;
      line.textContent = progressLine(
        j.status,
        j.progress,
        eta.secondsLeft(j.progress.framesTotal, Date.now()),
      );
      bar.setAttribute('aria-valuetext', line.textContent);
      badge.className = `badge ${j.status}`;
      badge.textContent = j.status;
    };
    cancel.addEventListener('click', async () => {
      try {
        render(await api.cancelJob(job.id));
      } catch (err) {
        error.textContent = messageOf(err, 'Could not cancel the job.');
      }
    });
    body.append(
      h(
        'section',
        { class: 'card running', 'aria-labelledby': 'progress-title' },
        h('h2', { id: 'progress-title' }, 'Analysing the video'),
        h('div', { class: 'row nowrap' }, bar, cancel),
        line,
      ),
    );
    let current = job;
    show(current);
    // the estimate ages between events: refresh the words every second
    const tick = setInterval(() => show(current), 1000);
    cleanups.push(() => clearInterval(tick));
    const stop = watchJob(job.id, {
      progress(e) {
        current = { ...current, status: e.status, progress: e.progress };
        show(current);
      },
      status() {
        void reload();
      },
      broken() {
        const t = setTimeout(() => void reload(), 2000);
        cleanups.push(() => clearTimeout(t));
      },
    });
    cleanups.push(stop);
  }

  async function reload(): Promise<void> {
    if (disposed) return;
    try {
      render(await api.getJob(id));
    } catch (err) {
      title.textContent = 'Job not found';
      error.textContent = messageOf(err, 'Could not load the job.');
      clear(body);
    }
  }

  function render(job: Job): void {
    if (disposed) return;
    for (const c of cleanups.splice(0)) c();
    renderHeader(job);
    clear(actions);
    if (!isFinished(job.status)) renderRunning(job);
    else if (job.status === 'completed') void renderCompleted(job);
    else showStatus(body, job.status === 'canceled' ? 'This job was canceled.' : 'This job failed.');
  }

  async function renderCompleted(job: Job): Promise<void> {
    const loading = showStatus(body, 'Loading detections…');
    try {
      const [frames, video, feats] = await Promise.all([
        api.allDetections(job.id, (n) => {
          loading.textContent = `Loading detections… ${n} frames`;
        }),
        api.videoUrl(job.id),
        features(),
      ]);
      if (disposed) return;
      frames.sort((a, b) => a.timestamp - b.timestamp || a.frameIndex - b.frameIndex);
      const defaults = { minScore: job.options.minScore };
      const state: ReviewState = readState(query, defaults);
      const review = reviewView({
        job,
        frames,
        videoUrl: video.url,
        state,
        features: feats,
        cleanups,
        onError: (m) => {
          error.textContent = m;
          const t = setTimeout(() => {
            if (error.textContent === m) error.textContent = '';
          }, 6000);
          cleanups.push(() => clearTimeout(t));
        },
        onState: (s) => {
          const q = writeState(s, defaults).toString();
          history.replaceState(history.state, '', `#/jobs/${encodeURIComponent(job.id)}${q ? `?${q}` : ''}`);
        },
      });
      clear(body);
      body.append(review.el);
      actions.replaceChildren(review.actions);
    } catch (err) {
      clear(body);
      error.textContent = messageOf(err, 'Could not load the detections.');
    }
  }

  void reload();
  return {
    el,
    dispose() {
      disposed = true;
      for (const c of cleanups.splice(0)) c();
    },
  };
}
