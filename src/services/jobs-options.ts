import { ValidationError } from '../errors.js';
import {
  CallbackUrlError,
  checkCallbackTarget,
  checkCallbackUrl,
  type ResolveHost,
} from '../pipeline/callbacks.js';

/** A job's analysis options, as stored in `jobs.options` and returned in Job.options. */
export interface JobOptions {
  fps: number | null;
  minScore: number;
  labels: string[] | null;
  model: string;
  callbackUrl: string | null;
}

export const DEFAULT_MODEL = 'centernet';
export const DEFAULT_MIN_SCORE = 0.25;
export const OPTION_FIELDS = ['fps', 'minScore', 'labels', 'model', 'callbackUrl'] as const;

const invalid = (message: string) => new ValidationError(message, 'INVALID_OPTION');

function parseNumber(field: string, raw: string): number {
  const v = raw.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw invalid(`${field} must be a number.`);
  return Number(v);
}

/**
 * Turns the multipart text fields into JobOptions, or throws 400 INVALID_OPTION with a sentence
 * naming the field. `fields` maps a field name to every value it was sent with.
 */
export function parseJobOptions(
  fields: Map<string, string[]>,
  deps: { isKnownModel(name: string): boolean; callbackAllowlist: readonly string[] | null },
): JobOptions {
  for (const name of fields.keys()) {
    if (!(OPTION_FIELDS as readonly string[]).includes(name)) {
      throw invalid(
        `Unknown field ${JSON.stringify(name.slice(0, 64))}: expected video, ${OPTION_FIELDS.join(', ')}.`,
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
  }

  let model = DEFAULT_MODEL;
  const modelRaw = single('model');
  if (modelRaw !== undefined && modelRaw.trim() !== '') {
    model = modelRaw.trim();
    if (model.length > 128 || !deps.isKnownModel(model)) {
      throw invalid(`model ${JSON.stringify(model.slice(0, 64))} is not a known model (see GET /v1/models).`);
    }
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

  return { fps, minScore, labels, model, callbackUrl };
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
