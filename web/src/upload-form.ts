// The "New analysis" form: the video, sampling, minimum score, model and labels. Labels come
// from the chosen model (GET /v1/models) with autocomplete; a label the model does not have is
// pointed out while typing, and the server refuses it with its own sentence, shown here.
import { api, uploadVideo } from './api.js';
import { field, h, messageOf } from './dom.js';
import { fmtBytes } from './format.js';
import type { Job, Model } from './types.js';

/** Pure: the labels typed so far ("person, ca" → ["person", "ca"]). */
export function splitLabels(text: string): string[] {
  return text
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * Pure: completions for a comma-separated list, for a <datalist>: the text before the last comma
 * kept, the last part completed from the model's labels ("person, ca" → "person, car", …).
 */
export function labelSuggestions(text: string, labels: readonly string[], max = 12): string[] {
  const cut = text.lastIndexOf(',');
  const head = cut >= 0 ? `${text.slice(0, cut + 1).trimEnd()} ` : '';
  const part = text
    .slice(cut + 1)
    .trim()
    .toLowerCase();
  const taken = new Set(splitLabels(text.slice(0, cut + 1)));
  const starts = labels.filter((l) => !taken.has(l) && l.toLowerCase().startsWith(part));
  const contains = labels.filter(
    (l) => !taken.has(l) && !starts.includes(l) && l.toLowerCase().includes(part),
  );
  return [...starts, ...contains].slice(0, max).map((l) => head + l);
}

export function uploadForm(onCreated: (job: Job) => void): HTMLElement {
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
  const model = field('Model', h('select', { name: 'model' }, h('option', { value: '' }, 'default')));
  const datalist = h('datalist', { id: 'label-options' });
  const labels = field(
    'Labels to keep',
    h('input', {
      name: 'labels',
      type: 'text',
      placeholder: 'e.g. person, car, dog',
      spellcheck: false,
      autocomplete: 'off',
      list: 'label-options',
    }),
    'Comma-separated, from the model’s labels; empty keeps every label.',
  );
  labels.input.setAttribute('list', 'label-options');
  const labelWarning = h('small', { class: 'warning', id: 'labels-warning', 'aria-live': 'polite' });
  labels.input.setAttribute('aria-describedby', `${labels.hint?.id ?? ''} labels-warning`.trim());
  labels.wrap.append(datalist, labelWarning);

  let models: Model[] = [];
  const chosen = (): Model | undefined =>
    models.find((m) => m.name === (model.input.value || 'centernet')) ?? models[0];
  function refreshLabels(): void {
    const m = chosen();
    const known = m?.labels ?? [];
    datalist.replaceChildren(
      ...labelSuggestions(labels.input.value, known).map((v) => h('option', { value: v })),
    );
    const unknown = splitLabels(labels.input.value).filter((l) => known.length > 0 && !known.includes(l));
    // the last part may still be being typed: only complain about it once a comma follows
    const typing = !/,\s*$/.test(labels.input.value) ? splitLabels(labels.input.value).at(-1) : undefined;
    const settled = unknown.filter((l) => l !== typing);
    labelWarning.textContent = settled.length
      ? `${m?.name ?? 'The model'} has no label ${settled.map((l) => `“${l}”`).join(', ')}.`
      : '';
  }
  labels.input.addEventListener('input', refreshLabels);
  labels.input.addEventListener('blur', () => {
    const unknown = splitLabels(labels.input.value).filter((l) => !(chosen()?.labels ?? [l]).includes(l));
    labelWarning.textContent = unknown.length
      ? `${chosen()?.name ?? 'The model'} has no label ${unknown.map((l) => `“${l}”`).join(', ')}.`
      : '';
  });
  model.input.addEventListener('change', refreshLabels);
  api
    .models()
    .then((list) => {
      models = list;
      model.input.replaceChildren(
        ...list.map((m) => h('option', { value: m.name }, `${m.name} (${m.labels.length} labels)`)),
      );
      model.wrap.hidden = list.length <= 1;
      refreshLabels();
    })
    .catch(() => {
      model.wrap.hidden = true;
    });

  const bar = h('progress', { max: 1, value: 0, class: 'upload-progress', 'aria-label': 'Upload progress' });
  const barText = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const uploadError = h('p', { class: 'error', role: 'alert', id: 'upload-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload and analyse');
  const cancelUpload = h('button', { type: 'button', hidden: true }, 'Cancel upload');
  let aborter: AbortController | null = null;
  cancelUpload.addEventListener('click', () => aborter?.abort());
  bar.hidden = true;

  const form = h(
    'form',
    { class: 'card upload', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'New analysis'),
    field('Video file', fileInput).wrap,
    h('div', { class: 'row fields' }, fps.wrap, minScore.wrap, model.wrap, labels.wrap),
    h(
      'div',
      { class: 'row actions' },
      submit,
      cancelUpload,
      h('div', { class: 'progress-wrap' }, bar, barText),
    ),
    uploadError,
  );
  model.wrap.hidden = true;

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
          fps: fps.input.value.trim(),
          minScore: minScore.input.value.trim(),
          labels: splitLabels(labels.input.value).join(','),
          model: model.wrap.hidden ? '' : model.input.value,
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
      labelWarning.textContent = '';
      onCreated(job);
    } catch (err) {
      uploadError.textContent = messageOf(err, 'The upload failed.');
      barText.textContent = '';
      bar.hidden = true;
    } finally {
      submit.disabled = false;
      cancelUpload.hidden = true;
      aborter = null;
    }
  });
  return form;
}
