// The Download menu in the job's header ("export what I see"): what is on screen (the filters
// applied) as JSON or NDJSON through the detections API, and, where the server has issue 11's
// exports, each export format with the same filters. Every download goes through fetch with the
// bearer token (api.ts call), then is saved from a Blob: a plain link could not send the token.
import { api, saveBlob } from './api.js';
import { h, messageOf, uid } from './dom.js';
import { exportFileName, exportName, exportPath, orderFormats } from './exports-model.js';
import type { Features } from './features.js';
import { apiQuery, describeFilter, type ReviewFilter } from './filters.js';
import { fmtTime } from './format.js';
import type { Job } from './types.js';

export function downloadMenu(opts: {
  job: Job;
  allLabels: readonly string[];
  features: Features;
  filter: () => ReviewFilter;
  onError(message: string): void;
}): { el: HTMLElement; update(): void } {
  const { job } = opts;
  const base = (job.video.originalName || job.id).replace(/\.[^.]+$/, '');
  const note = h('p', { class: 'small muted menu-note', id: uid('dl-note') });
  const items: HTMLButtonElement[] = [];

  const item = (text: string, run: (q: URLSearchParams) => Promise<void>) => {
    const b = h('button', { type: 'button', class: 'menu-item', 'aria-describedby': note.id }, text);
    b.addEventListener('click', async () => {
      const q = apiQuery(opts.filter(), opts.allLabels);
      if (!q) return;
      b.disabled = true;
      b.setAttribute('aria-busy', 'true');
      try {
        await run(q);
        details.open = false;
      } catch (err) {
        opts.onError(messageOf(err, 'The download failed.'));
      } finally {
        b.disabled = false;
        b.removeAttribute('aria-busy');
      }
    });
    items.push(b);
    return b;
  };

  const list = h(
    'div',
    { class: 'menu-panel' },
    note,
    item('Detections, JSON', async (q) =>
      saveBlob(await api.detectionsFile(job.id, q, 'json'), `${base}.detections.json`),
    ),
    item('Detections, NDJSON', async (q) =>
      saveBlob(await api.detectionsFile(job.id, q, 'ndjson'), `${base}.detections.ndjson`),
    ),
    orderFormats(opts.features.exportFormats).map((format) =>
      item(exportName(format), async () => {
        // issue 11: GET /v1/jobs/:id/export?format=&label=&minScore=&from=&to= (streamed)
        const path = exportPath(job.id, format, opts.filter(), opts.allLabels);
        if (!path) return;
        const { blob, disposition } = await api.download(path);
        saveBlob(blob, exportFileName(job.video.originalName, format, disposition));
      }),
    ),
  );
  const details = h(
    'details',
    { class: 'menu' },
    h('summary', { class: 'button primary' }, 'Download'),
    list,
  );
  // the menu closes on Escape and on a click elsewhere
  details.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && details.open) {
      details.open = false;
      details.querySelector('summary')?.focus();
    }
  });
  document.addEventListener('click', (e) => {
    if (details.open && !details.contains(e.target as Node)) details.open = false;
  });

  function update(): void {
    const f = opts.filter();
    const none = apiQuery(f, opts.allLabels) === null;
    note.textContent = none
      ? 'No label is shown: choose at least one in Filters to download.'
      : `What is shown: ${describeFilter(f, (s) => fmtTime(s))}.`;
    for (const b of items) b.disabled = none;
  }
  update();
  return { el: h('div', { class: 'job-actions' }, details), update };
}
