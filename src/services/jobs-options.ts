import {
  DEFAULT_MIN_SCORE,
  DEFAULT_MIN_TRACK_FRAMES,
  DEFAULT_MODEL,
  type JobOptions,
  MAX_MIN_TRACK_FRAMES,
} from '../api/schemas.js';
import { ValidationError } from '../errors.js';
import {
  CallbackUrlError,
  checkCallbackTarget,
  checkCallbackUrl,
  type ResolveHost,
} from '../pipeline/callbacks.js';

export type { JobOptions } from '../api/schemas.js';
export const OPTION_FIELDS = ['fps', 'minScore', 'labels', 'model', 'callbackUrl', 'minTrackFrames'] as const;
/** The longest `tag` a job may carry. */
export const TAG_MAX_LENGTH = 100;

const invalid = (message: string) => new ValidationError(message, 'INVALID_OPTION');

function parseNumber(field: string, raw: string): number {
  const v = raw.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw invalid(`${field} must be a number.`);
  return Number(v);
}

/** Pure: Levenshtein distance, stopping early once it is over `max` (labels are short). */
export function editDistance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** Pure: the closest label of the model (case-insensitive; 1 edit away for short names, else 2), if any. */
export function closestLabel(label: string, known: readonly string[]): string | null {
  const l = label.toLowerCase();
  const max = l.length <= 4 ? 1 : 2;
  let best: string | null = null;
  let bestD = max + 1;
  for (const k of known) {
    const d = editDistance(l, k.toLowerCase(), max);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Pure: one sentence naming the labels a model does not have, with a suggestion when one is close. */
export function unknownLabelsSentence(
  unknown: readonly string[],
  model: string,
  known: readonly string[],
): string {
  const quote = (l: string) => JSON.stringify(l.slice(0, 64));
  const shown = unknown.slice(0, 5).map(quote);
  if (unknown.length > 5) shown.push(`${unknown.length - 5} more`);
  const names = shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
  const verb = unknown.length === 1 ? 'is not a label' : 'are not labels';
  const hints = unknown
    .slice(0, 5)
    .map((l) => [l, closestLabel(l, known)] as const)
    .filter((p): p is readonly [string, string] => p[1] !== null)
    .map(([l, k]) => (unknown.length === 1 ? quote(k) : `${quote(k)} for ${quote(l)}`));
  const hint = hints.length ? ` (did you mean ${hints.join(', ')}?)` : '';
  return `labels: ${names} ${verb} of model ${model}${hint}; GET /v1/models lists its labels.`;
}

/**
 * Turns the multipart text fields into JobOptions, or throws 400 INVALID_OPTION with a sentence
 * naming the field. `fields` maps a field name to every value it was sent with.
 */
export function parseJobOptions(
  fields: Map<string, string[]>,
  deps: {
    /** the labels of model `name`, or null when there is no such model */
    modelLabels(name: string): readonly string[] | null;
    callbackAllowlist: readonly string[] | null;
  },
): JobOptions {
  for (const name of fields.keys()) {
    if (!(OPTION_FIELDS as readonly string[]).includes(name)) {
      throw invalid(
        `Unknown field ${JSON.stringify(name.slice(0, 64))}: expected video, ${OPTION_FIELDS.join(', ')}, tag.`,
      );
    }
  }
  const single = (name: string): string | undefined => {
    const values = fields.get(name);
    if (!values) return undefined;
    if (values.length > 1) throw invalid(`${name} must be sent once.`);
    return values[0];
  };

  let fps: number | null = null;
  const fpsRaw = single('fps');
  if (fpsRaw !== undefined && fpsRaw.trim() !== '') {
    fps = parseNumber('fps', fpsRaw);
    if (!(fps > 0 && fps <= 120)) throw invalid('fps must be greater than 0 and at most 120.');
  }

  let minScore = DEFAULT_MIN_SCORE;
  const minRaw = single('minScore');
  if (minRaw !== undefined && minRaw.trim() !== '') {
    minScore = parseNumber('minScore', minRaw);
    if (!(minScore >= 0 && minScore <= 1)) throw invalid('minScore must be between 0 and 1.');
  }

  let minTrackFrames = DEFAULT_MIN_TRACK_FRAMES;
  const mtfRaw = single('minTrackFrames');
  if (mtfRaw !== undefined && mtfRaw.trim() !== '') {
    minTrackFrames = parseNumber('minTrackFrames', mtfRaw);
    if (!(Number.isInteger(minTrackFrames) && minTrackFrames >= 1 && minTrackFrames <= MAX_MIN_TRACK_FRAMES))
      throw invalid(`minTrackFrames must be a whole number from 1 to ${MAX_MIN_TRACK_FRAMES}.`);
  }

  let model = DEFAULT_MODEL;
  const modelRaw = single('model');
  if (modelRaw !== undefined && modelRaw.trim() !== '') model = modelRaw.trim();
  const known = model.length > 128 ? null : deps.modelLabels(model);
  if (!known) {
    throw invalid(`model ${JSON.stringify(model.slice(0, 64))} is not a known model (see GET /v1/models).`);
  }

  let labels: string[] | null = null;
  const labelValues = fields.get('labels');
  if (labelValues) {
    const list = labelValues
      .flatMap((v) => v.split(','))
      .map((l) => l.trim())
      .filter(Boolean);
    if (list.length > 200) throw invalid('labels must list at most 200 labels.');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    const bad = list.find((l) => l.length > 64 || /[\u0000-\u001f\u007f]/.test(l));
    if (bad !== undefined) throw invalid('labels must be names of at most 64 printable characters.');
    labels = list.length ? [...new Set(list)] : null;
    const unknown = (labels ?? []).filter((l) => !known.includes(l));
    if (unknown.length > 0) throw invalid(unknownLabelsSentence(unknown, model, known));
  }

  let callbackUrl: string | null = null;
  const cbRaw = single('callbackUrl');
  if (cbRaw !== undefined && cbRaw.trim() !== '') {
    if (cbRaw.length > 2048) throw invalid('callbackUrl must be at most 2048 characters long.');
    try {
      // scheme, allowlist, IP literals in every form, local names: the same checks the notify task
      // repeats at delivery, where it also resolves the host (checkCallbackTarget does that here)
      callbackUrl = checkCallbackUrl(cbRaw.trim(), deps.callbackAllowlist).toString();
    } catch (e) {
      throw invalid(e instanceof CallbackUrlError ? e.message : 'callbackUrl is not valid.');
    }
  }

  return { fps, minScore, labels, model, callbackUrl, minTrackFrames };
}

/**
 * The client's `tag` field: its own short label for the job (an order number, a camera name),
 * echoed in the job and its callback. At most TAG_MAX_LENGTH printable characters; absent or
 * blank = null. Throws 400 INVALID_OPTION.
 */
export function parseTag(fields: Map<string, string[]>): string | null {
  const values = fields.get('tag');
  if (!values) return null;
  if (values.length > 1) throw invalid('tag must be sent once.');
  const tag = values[0].trim();
  if (tag === '') return null;
  if (Array.from(tag).length > TAG_MAX_LENGTH)
    throw invalid(`tag must be at most ${TAG_MAX_LENGTH} characters long.`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(tag)) {
    throw invalid('tag must be printable text.');
  }
  return tag;
}

/**
 * The DNS half of the callback check at job creation (parseJobOptions did the rest): a callbackUrl
 * whose host resolves to a non-public address is refused with 400 INVALID_OPTION now.
 */
export async function checkCallbackHost(
  options: Pick<JobOptions, 'callbackUrl'>,
  deps: { callbackAllowlist: readonly string[] | null; resolve?: ResolveHost },
): Promise<void> {
  if (!options.callbackUrl) return;
  try {
    await checkCallbackTarget(new URL(options.callbackUrl), deps.callbackAllowlist, {
      resolve: deps.resolve,
    });
  } catch (e) {
    if (e instanceof CallbackUrlError) throw invalid(e.message);
    throw e;
  }
}

/**
 * The original filename as we keep it: path parts, control characters (NUL included) and bidi
 * overrides removed, at most 255 characters. Only ever displayed, never used as a path.
 */
export function sanitizeFilename(name: string | undefined | null): string {
  if (!name) return 'video';
  const base = name.split(/[/\\]/).pop() ?? '';
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .trim();
  const capped = Array.from(clean).slice(0, 255).join('');
  return capped === '' || capped === '.' || capped === '..' ? 'video' : capped;
}
