import { ApiError, api, uploadVideo, watchJob } from './api.js';
import { clear, field, fmtBytes, h } from './dom.js';
import { isFinished, type Job } from './types.js';

/** The upload form and the list of the user's jobs, with live progress. */
export function jobsView(): { el: HTMLElement; dispose(): void } {
  const watchers = new Map<string, () => void>();
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  const failures = new Map<string, number>(); // broken event streams per job, for backoff
  let disposed = false;
  const jobs = new Map<string, Job>();

  // ---- upload ----
  const fileInput = h('input', {
    type: 'file',
    name: 'video',
    accept: 'video/*,.mp4,.mov,.mkv,.webm,.avi',
    required: true,
  });
  const fps = field(
    'Sampling (frames per second)',
    h('input', {
      name: 'fps',
      type: 'number',
      min: '0.1',
      max: '120',
      step: 'any',
      placeholder: 'every frame',
      inputMode: 'decimal',
    }),
    'Empty: analyse every frame.',
  );
  const minScore = field(
    'Minimum score',
    h('input', {
      name: 'minScore',
      type: 'number',
      min: '0',
      max: '1',
      step: '0.05',
      defaultValue: '0.25',
      inputMode: 'decimal',
    }),
    'From 0 to 1: lower finds more objects, and more mistakes.',
  );
  const labels = field(
    'Labels to keep',
    h('input', { name: 'labels', type: 'text', placeholder: 'e.g. person, car, dog', spellcheck: false }),
    'Comma-separated; empty keeps every label.',
  );
  const bar = h('progress', { max: 1, value: 0, class: 'upload-progress', 'aria-label': 'Upload progress' });
  const barText = h('span', { class: 'muted', 'aria-live': 'polite' });
  const uploadError = h('p', { class: 'error', role: 'alert', id: 'upload-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload and analyse');
  const cancelUpload = h('button', { type: 'button', hidden: true }, 'Cancel upload');
  let aborter: AbortController | null = null;
  cancelUpload.addEventListener('click', () => aborter?.abort());

  const fileField = field('Video file', fileInput);
  const form = h(
    'form',
    { class: 'card upload', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'New analysis'),
    fileField.wrap,
    h('div', { class: 'row' }, fps.wrap, minScore.wrap, labels.wrap),
    h(
      'div',
      { class: 'row actions' },
      submit,
      cancelUpload,
      h('div', { class: 'progress-wrap' }, bar, barText),
    ),
    uploadError,
  );
  bar.hidden = true;

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    uploadError.textContent = '';
    const file = fileInput.files?.[0];
    if (!file) {
      uploadError.textContent = 'Choose a video file to upload.';
      fileInput.focus();
      return;
    }
    submit.disabled = true;
    cancelUpload.hidden = false;
    bar.hidden = false;
    bar.value = 0;
    barText.textContent = `0% of ${fmtBytes(file.size)}`;
    aborter = new AbortController();
    try {
      const job = await uploadVideo(
        file,
        {
          fps: (fps.input as HTMLInputElement).value.trim(),
          minScore: (minScore.input as HTMLInputElement).value.trim(),
          labels: (labels.input as HTMLInputElement).value.trim(),
        },
        (f) => {
          bar.value = f;
          barText.textContent =
            f >= 1 ? 'Uploaded; checking the video…' : `${Math.round(f * 100)}% of ${fmtBytes(file.size)}`;
        },
        aborter.signal,
      );
      barText.textContent = `Uploaded ${file.name}.`;
      form.reset();
      upsert(job, true);
    } catch (err) {
      uploadError.textContent = err instanceof ApiError ? err.message : 'The upload failed.';
      barText.textContent = '';
      bar.hidden = true;
    } finally {
      submit.disabled = false;
      cancelUpload.hidden = true;
      aborter = null;
    }
  });

  // ---- list ----
  const listError = h('p', { class: 'error', role: 'alert' });
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted empty' }, 'No jobs yet: upload a video above.');
  const more = h('button', { type: 'button', hidden: true }, 'Show older jobs');
  let nextCursor: string | null = null;
  const table = h(
    'table',
    { class: 'jobs' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Video'),
        h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Progress'),
        h('th', { scope: 'col' }, 'Created'),
        h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const rows = new Map<string, HTMLTableRowElement>();

  function renderRow(job: Job): HTMLTableRowElement {
    const pct = Math.max(0, Math.min(100, job.progress?.percent ?? 0));
    const name = job.video?.originalName || job.id;
    const open = h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'job-link' }, name);
    const actions = h('td', { class: 'actions' });
    if (!isFinished(job.status)) {
      actions.append(
        h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              try {
                upsert(await api.cancelJob(job.id));
              } catch (err) {
                listError.textContent = err instanceof ApiError ? err.message : 'Could not cancel the job.';
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
          onclick: async () => {
            if (!confirm(`Delete the job for ${name}? Its video and detections are removed.`)) return;
            try {
              await api.deleteJob(job.id);
              remove(job.id);
            } catch (err) {
              listError.textContent = err instanceof ApiError ? err.message : 'Could not delete the job.';
            }
          },
        },
        'Delete',
      ),
    );
    const tr = h(
      'tr',
      { 'data-job-id': job.id, 'data-status': job.status },
      h('td', null, open, h('div', { class: 'muted small' }, job.video ? fmtBytes(job.video.sizeBytes) : '')),
      h(
        'td',
        null,
        h('span', { class: `badge ${job.status}` }, job.status),
        job.error ? h('div', { class: 'error small' }, job.error) : null,
      ),
      h(
        'td',
        { class: 'progress-cell' },
        h('progress', { max: 100, value: pct, 'aria-label': `Progress of ${name}` }),
        h('span', { class: 'small' }, ` ${pct.toFixed(0)}%`),
      ),
      h('td', { class: 'small' }, new Date(job.createdAt).toLocaleString()),
      actions,
    );
    return tr;
  }

  function upsert(job: Job, prepend = false): void {
    jobs.set(job.id, job);
    const tr = renderRow(job);
    const old = rows.get(job.id);
    if (old) old.replaceWith(tr);
    else if (prepend) tbody.prepend(tr);
    else tbody.append(tr);
    rows.set(job.id, tr);
    empty.hidden = rows.size > 0;
    if (isFinished(job.status)) stopWatching(job.id);
    else watch(job.id);
  }

  function remove(id: string): void {
    stopWatching(id);
    rows.get(id)?.remove();
    rows.delete(id);
    jobs.delete(id);
    empty.hidden = rows.size > 0;
  }

  function stopWatching(id: string): void {
    watchers.get(id)?.();
    watchers.delete(id);
  }

  function watch(id: string): void {
    if (disposed || watchers.has(id)) return;
    const stop = watchJob(id, {
      progress(e) {
        failures.delete(id);
        const job = jobs.get(id);
        if (!job) return;
        upsert({ ...job, status: e.status, progress: e.progress });
      },
      status() {
        watchers.delete(id);
        void refresh(id);
      },
      broken() {
        watchers.delete(id);
        // re-read the job (this refreshes an expired token), then listen again if unfinished
        const n = (failures.get(id) ?? 0) + 1;
        failures.set(id, n);
        const t = setTimeout(
          () => {
            retryTimers.delete(t);
            if (!disposed && rows.has(id)) void refresh(id);
          },
          Math.min(2000 * 2 ** (n - 1), 30_000),
        );
        retryTimers.add(t);
      },
    });
    watchers.set(id, stop);
  }

  async function refresh(id: string): Promise<void> {
    try {
      upsert(await api.getJob(id));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) remove(id);
    }
  }

  async function load(cursor?: string): Promise<void> {
    try {
      const page = await api.listJobs(cursor);
      for (const j of page.jobs) upsert(j);
      nextCursor = page.nextCursor;
      more.hidden = !nextCursor;
      empty.hidden = rows.size > 0;
    } catch (err) {
      listError.textContent = err instanceof ApiError ? err.message : 'Could not load your jobs.';
    }
  }
  more.addEventListener('click', () => nextCursor && void load(nextCursor));

  clear(tbody);
  void load();

  const el = h(
    'div',
    { class: 'jobs-view' },
    form,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'jobs-title' },
      h('h2', { id: 'jobs-title' }, 'Your jobs'),
      listError,
      empty,
      h('div', { class: 'table-wrap' }, table),
      more,
    ),
  );
  return {
    el,
    dispose() {
      disposed = true;
      for (const stop of watchers.values()) stop();
      watchers.clear();
      for (const t of retryTimers) clearTimeout(t);
    },
  };
}
