import { ApiError, api, call, saveBlob, watchJob } from './api.js';
import { assignLabelColors, clear, fmtBytes, fmtTime, h, labelColor } from './dom.js';
import { contentRect, type DrawFilter, drawBoxes, frameAt } from './overlay.js';
import { type Frame, isFinished, type Job } from './types.js';

type VideoFrameCallback = (now: number, metadata: { mediaTime: number }) => void;
type RVFCVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: VideoFrameCallback) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** One job: status while it runs; when completed, the player with boxes, timeline, summary, downloads. */
export function jobView(id: string): { el: HTMLElement; dispose(): void } {
  const el = h('div', { class: 'job-view' });
  const cleanups: (() => void)[] = [];
  let disposed = false;
  const error = h('p', { class: 'error', role: 'alert' });

  const header = h('div', { class: 'job-header' });
  const body = h('div', { class: 'job-body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.append(h('p', null, h('a', { href: '#/', class: 'back' }, '← All jobs')), header, error, body);

  function renderHeader(job: Job): void {
    clear(header);
    const p = job.video?.probe;
    header.append(
      h(
        'h2',
        null,
        job.video?.originalName || job.id,
        ' ',
        h('span', { class: `badge ${job.status}` }, job.status),
      ),
      h(
        'p',
        { class: 'muted small' },
        [
          job.video ? fmtBytes(job.video.sizeBytes) : null,
          p ? `${p.video.width}×${p.video.height}` : null,
          p ? `${p.video.fps.toFixed(2)} fps` : null,
          p ? fmtTime(p.durationSec) : null,
          `sampling: ${job.options.fps ? `${job.options.fps} fps` : 'every frame'}`,
          `min score ${job.options.minScore}`,
          job.options.labels?.length ? `labels: ${job.options.labels.join(', ')}` : null,
          `model ${job.options.model}`,
        ]
          .filter(Boolean)
          .join(' · '),
      ),
      ...(job.error ? [h('p', { class: 'error' }, job.error)] : []),
    );
  }

  function renderRunning(job: Job): void {
    clear(body);
    const pct = job.progress?.percent ?? 0;
    const bar = h('progress', { max: 100, value: pct, 'aria-label': 'Analysis progress' });
    const txt = h('span', { 'aria-live': 'polite' }, ` ${pct.toFixed(0)}%`);
    const cancel = h('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', async () => {
      try {
        show(await api.cancelJob(job.id));
      } catch (err) {
        error.textContent = err instanceof ApiError ? err.message : 'Could not cancel the job.';
      }
    });
    body.append(
      h(
        'div',
        { class: 'card' },
        h('p', null, 'Analysing the video…'),
        h('div', { class: 'row' }, bar, txt, cancel),
      ),
    );
    let current = job;
    const stop = watchJob(job.id, {
      progress(e) {
        current = { ...current, status: e.status, progress: e.progress };
        bar.value = current.progress.percent;
        txt.textContent = ` ${current.progress.percent.toFixed(0)}%`;
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
      show(await api.getJob(id));
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : 'Could not load the job.';
      clear(body);
    }
  }

  function show(job: Job): void {
    if (disposed) return;
    for (const c of cleanups.splice(0)) c();
    renderHeader(job);
    if (!isFinished(job.status)) renderRunning(job);
    else if (job.status === 'completed') void renderCompleted(job);
    else {
      clear(body);
      body.append(
        h('p', { class: 'muted' }, job.status === 'canceled' ? 'This job was canceled.' : 'This job failed.'),
      );
    }
  }

  async function renderCompleted(job: Job): Promise<void> {
    clear(body);
    const loading = h('p', { class: 'muted', role: 'status' }, 'Loading detections…');
    body.append(loading);
    let frames: Frame[];
    let videoUrl: string;
    try {
      const [f, v] = await Promise.all([
        api.allDetections(job.id, (n) => {
          loading.textContent = `Loading detections… ${n} frames`;
        }),
        api.videoUrl(job.id),
      ]);
      frames = f.slice().sort((a, b) => a.timestamp - b.timestamp || a.frameIndex - b.frameIndex);
      videoUrl = v.url;
    } catch (err) {
      loading.remove();
      error.textContent = err instanceof ApiError ? err.message : 'Could not load the detections.';
      return;
    }
    if (disposed) return;
    loading.remove();
    body.append(player(job, frames, videoUrl));
  }

  function player(job: Job, frames: Frame[], videoUrl: string): HTMLElement {
    const probe = job.video?.probe;
    const summary = job.summary?.labels ?? [];
    const allLabels = summary.length
      ? summary.map((s) => s.label)
      : [...new Set(frames.flatMap((f) => f.detections.map((d) => d.label)))].sort();
    assignLabelColors(allLabels);
    const filter: { labels: Set<string> | null; minScore: number } = {
      labels: null,
      minScore: job.options.minScore ?? 0,
    };

    // ---- player: <video> with a <canvas> exactly over the picture ----
    const video = h('video', {
      class: 'player',
      controls: true,
      preload: 'auto',
      playsInline: true,
      muted: true,
      src: videoUrl,
      'aria-label': `Video ${job.video?.originalName ?? ''}`,
    }) as RVFCVideo;
    const canvas = h('canvas', { class: 'overlay', 'aria-hidden': 'true' });
    const ctx = canvas.getContext('2d')!;
    const stage = h('div', { class: 'stage' }, video, canvas);
    const nowText = h('p', { class: 'muted small now', 'aria-live': 'off' });

    let lastMediaTime = 0;
    let dpr = window.devicePixelRatio || 1;
    let scale = 1;

    function layout(): void {
      const vw = video.videoWidth || probe?.video.width || 0;
      const vh = video.videoHeight || probe?.video.height || 0;
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
      const srcW = probe?.video.width || vw || 1;
      scale = canvas.width / srcW;
      draw(lastMediaTime);
    }

    function draw(mediaTime: number): void {
      lastMediaTime = mediaTime;
      const i = frameAt(frames, mediaTime);
      const frame = i >= 0 ? frames[i] : undefined;
      const n = drawBoxes(ctx, frame, scale, filter as DrawFilter, dpr);
      canvas.dataset.frameIndex = frame ? String(frame.frameIndex) : '';
      canvas.dataset.boxes = String(n);
      canvas.dataset.mediaTime = mediaTime.toFixed(3);
      nowText.textContent = frame
        ? `${fmtTime(mediaTime)} · analysed frame ${frame.frameIndex} at ${fmtTime(frame.timestamp)} · ${n} object${n === 1 ? '' : 's'} shown`
        : `${fmtTime(mediaTime)} · no analysed frame yet`;
      playhead.style.left = `${(duration() ? Math.min(1, mediaTime / duration()) : 0) * 100}%`;
    }

    // in step with the frame on screen
    let rvfcHandle = 0;
    let rafHandle = 0;
    if (typeof video.requestVideoFrameCallback === 'function') {
      const onFrame: VideoFrameCallback = (_now, meta) => {
        if (disposed) return;
        draw(meta.mediaTime);
        rvfcHandle = video.requestVideoFrameCallback!(onFrame);
      };
      rvfcHandle = video.requestVideoFrameCallback(onFrame);
      cleanups.push(() => video.cancelVideoFrameCallback?.(rvfcHandle));
    } else {
      const loop = () => {
        draw(video.currentTime);
        if (!video.paused && !video.ended) rafHandle = requestAnimationFrame(loop);
      };
      video.addEventListener('play', () => {
        cancelAnimationFrame(rafHandle);
        rafHandle = requestAnimationFrame(loop);
      });
      video.addEventListener('timeupdate', () => draw(video.currentTime));
      cleanups.push(() => cancelAnimationFrame(rafHandle));
    }
    // a seek or pause shows a frame that rVFC may not report (or reports late): redraw from currentTime
    for (const ev of ['seeked', 'pause', 'loadeddata'])
      video.addEventListener(ev, () => draw(video.currentTime));
    video.addEventListener('loadedmetadata', layout);
    video.addEventListener('error', () => {
      error.textContent =
        'The video could not be played in this browser (its link may have expired: reload the page).';
    });
    const ro = new ResizeObserver(() => layout());
    ro.observe(video);
    cleanups.push(() => ro.disconnect());
    const onDpr = () => layout();
    window.addEventListener('resize', onDpr);
    cleanups.push(() => window.removeEventListener('resize', onDpr));
    cleanups.push(() => {
      video.pause();
      video.removeAttribute('src');
      video.load();
    });

    const duration = () =>
      Number.isFinite(video.duration) && video.duration > 0 ? video.duration : probe?.durationSec || 0;

    function seek(t: number): void {
      video.currentTime = Math.max(0, t);
      draw(video.currentTime);
    }

    // ---- filters ----
    const labelBoxes = allLabels.map((label) => {
      const cb = h('input', {
        type: 'checkbox',
        checked: true,
        value: label,
        id: `lbl-${label.replace(/\W+/g, '-')}`,
      });
      cb.addEventListener('change', applyFilter);
      return { label, cb };
    });
    const scoreInput = h('input', {
      type: 'range',
      min: '0',
      max: '1',
      step: '0.01',
      value: String(filter.minScore),
      id: 'min-score-filter',
    });
    const scoreOut = h('output', { for: 'min-score-filter' }, filter.minScore.toFixed(2));
    scoreInput.addEventListener('input', applyFilter);

    function applyFilter(): void {
      const checked = labelBoxes.filter((l) => l.cb.checked).map((l) => l.label);
      filter.labels = checked.length === labelBoxes.length ? null : new Set(checked);
      filter.minScore = Number(scoreInput.value);
      scoreOut.textContent = filter.minScore.toFixed(2);
      for (const row of timelineRows)
        row.el.classList.toggle('off', filter.labels !== null && !filter.labels.has(row.label));
      draw(video.paused ? video.currentTime : lastMediaTime);
    }

    const filters = h(
      'div',
      { class: 'card filters' },
      h(
        'fieldset',
        null,
        h('legend', null, 'Labels'),
        labelBoxes.length
          ? labelBoxes.map(({ label, cb }) =>
              h(
                'span',
                { class: 'check' },
                cb,
                h(
                  'label',
                  { for: cb.id },
                  h('span', { class: 'swatch', style: `background:${labelColor(label)}` }),
                  label,
                ),
              ),
            )
          : h('span', { class: 'muted' }, 'Nothing was detected.'),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: scoreInput.id }, 'Minimum score'),
        h('div', { class: 'row' }, scoreInput, scoreOut),
      ),
    );

    // ---- timeline: one row per label, segments from the summary ----
    const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
    const timelineRows = summary.map((s) => {
      const track = h('div', { class: 'track' });
      const total = probe?.durationSec || Math.max(s.lastSeen, 1);
      for (const seg of s.segments) {
        const left = (seg.start / total) * 100;
        const width = Math.max(0.6, ((seg.end - seg.start) / total) * 100);
        track.append(
          h('button', {
            type: 'button',
            class: 'segment',
            style: `left:${left}%;width:${Math.min(width, 100 - left)}%;background:${labelColor(s.label)}`,
            title: `${s.label}: ${fmtTime(seg.start)} – ${fmtTime(seg.end)}`,
            'aria-label': `${s.label} from ${fmtTime(seg.start)} to ${fmtTime(seg.end)}: play from here`,
            'data-label': s.label,
            'data-start': String(seg.start),
            onclick: (e: Event) => {
              e.stopPropagation();
              seek(seg.start);
            },
          }),
        );
      }
      track.addEventListener('click', (e) => {
        const r = track.getBoundingClientRect();
        seek(((e.clientX - r.left) / r.width) * duration());
      });
      const row = h(
        'div',
        { class: 'tl-row', 'data-label': s.label },
        h('span', { class: 'tl-label' }, s.label),
        track,
      );
      return { label: s.label, el: row };
    });
    const timeline = h(
      'div',
      {
        class: 'timeline',
        'aria-label': 'Where each label appears (select a segment to seek there)',
        role: 'group',
      },
      timelineRows.length
        ? h(
            'div',
            { class: 'tl-rows' },
            timelineRows.map((r) => r.el),
            h('div', { class: 'tl-overlay' }, playhead),
          )
        : h('p', { class: 'muted small' }, 'No labels to show on the timeline.'),
    );

    // ---- summary table ----
    const table = h(
      'table',
      { class: 'summary' },
      h('caption', null, `Summary: ${job.summary?.framesAnalysed ?? frames.length} frames analysed`),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Label', 'Frames', 'Max score', 'First seen', 'Last seen'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
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
              h('span', { class: 'swatch', style: `background:${labelColor(s.label)}` }),
              s.label,
            ),
            h('td', null, String(s.frames)),
            h('td', null, s.maxScore.toFixed(3)),
            h(
              'td',
              null,
              h(
                'button',
                { type: 'button', class: 'link', onclick: () => seek(s.firstSeen) },
                fmtTime(s.firstSeen),
              ),
            ),
            h(
              'td',
              null,
              h(
                'button',
                { type: 'button', class: 'link', onclick: () => seek(s.lastSeen) },
                fmtTime(s.lastSeen),
              ),
            ),
          ),
        ),
      ),
    );

    // ---- downloads ----
    const dlError = h('p', { class: 'error', role: 'alert' });
    const base = (job.video?.originalName || job.id).replace(/\.[^.]+$/, '');
    const dlJson = h('button', { type: 'button' }, 'Download JSON');
    dlJson.addEventListener('click', () => {
      const text = JSON.stringify({ frames: frames, nextCursor: null }, null, 1);
      saveBlob(new Blob([text], { type: 'application/json' }), `${base}.detections.json`);
    });
    const dlNdjson = h('button', { type: 'button' }, 'Download NDJSON');
    dlNdjson.addEventListener('click', async () => {
      dlError.textContent = '';
      dlNdjson.disabled = true;
      try {
        const res = await call(`/v1/jobs/${encodeURIComponent(job.id)}/detections?format=ndjson`);
        saveBlob(new Blob([await res.blob()], { type: 'application/x-ndjson' }), `${base}.detections.ndjson`);
      } catch (err) {
        dlError.textContent = err instanceof ApiError ? err.message : 'The download failed.';
      } finally {
        dlNdjson.disabled = false;
      }
    });

    requestAnimationFrame(layout);
    return h(
      'div',
      { class: 'player-layout' },
      h(
        'div',
        { class: 'player-col' },
        stage,
        nowText,
        h('div', { class: 'card' }, h('h3', null, 'Timeline'), timeline),
      ),
      h(
        'div',
        { class: 'side-col' },
        filters,
        h('div', { class: 'card' }, table),
        h(
          'div',
          { class: 'card downloads' },
          h('h3', null, 'Detections'),
          h('div', { class: 'row' }, dlJson, dlNdjson),
          dlError,
        ),
      ),
    );
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
