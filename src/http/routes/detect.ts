import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  DEFAULT_MIN_SCORE,
  DetectMultipart,
  DetectResult,
  errorResponses,
  ModelList,
} from '../../api/schemas.js';
import { PayloadTooLargeError, UnsupportedMediaError, ValidationError } from '../../errors.js';
import type { ModelRegistry } from '../../inference/registry.js';
import type { ConcurrencyLimiter } from '../../services/concurrency.js';
import type { ImageDetectionService } from '../../services/image-detection.js';
import { requireUser } from '../plugins/auth.js';
import { rateLimits } from '../plugins/rate-limits.js';

/**
 * `POST /v1/detect`: one image in, its detections out, synchronously; and `GET /v1/models`.
 * An image is small enough to hold in memory (capped at MAX_IMAGE_BYTES), unlike a video.
 */

export const MAX_IMAGE_BYTES = 25 * 1024 * 1024;

export interface DetectRoutesOptions {
  models: Pick<ModelRegistry, 'list'>;
  imageDetection: ImageDetectionService;
  /** images analysed at once, waiting turns and the timeout (DETECT_CONCURRENCY, DETECT_QUEUE, DETECT_TIMEOUT_SECONDS) */
  limiter: ConcurrencyLimiter;
  /** requests per user per minute (DETECT_RATE_LIMIT_PER_MINUTE) */
  ratePerMinute: number;
}

/** Pure: reads and checks the text fields of a detect request. */
export function parseDetectFields(fields: Record<string, string>, knownModels: string[]) {
  const out: { minScore: number; labels?: string[]; model?: string } = { minScore: DEFAULT_MIN_SCORE };
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'minScore') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
        throw new ValidationError('minScore must be a number from 0 to 1.', 'INVALID_OPTION');
      }
      out.minScore = n;
    } else if (name === 'labels') {
      const labels = value
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      if (labels.length > 0) out.labels = labels;
    } else if (name === 'model') {
      if (!knownModels.includes(value)) {
        throw new ValidationError(`model must be one of: ${knownModels.join(', ')}.`, 'INVALID_OPTION');
      }
      out.model = value;
    } else {
      throw new ValidationError(`Unknown field ${JSON.stringify(name.slice(0, 40))}.`, 'INVALID_OPTION');
    }
  }
  return out;
}

export const detectRoutes: FastifyPluginAsyncTypebox<DetectRoutesOptions> = async (app, opts) => {
  app.get(
    '/v1/models',
    {
      schema: {
        tags: ['models'],
        summary: 'The detection models this server has, with their labels and input size',
        response: { 200: ModelList },
      },
    },
    async () => ({
      models: opts.models.list().map((m) => ({
        name: m.name,
        labels: m.labels,
        input: {
          width: m.input.width,
          height: m.input.height,
          layout: m.input.layout,
          resize: m.input.resize,
        },
        decoder: m.decoder,
        source: m.source,
      })),
    }),
  );

  app.post(
    '/v1/detect',
    {
      onRequest: app.authenticate,
      preHandler: rateLimits(app, [
        {
          name: 'detect',
          max: opts.ratePerMinute,
          windowMs: 60_000,
          key: (request) => requireUser(request).id,
          message: (after) => `You have sent too many images; try again ${after}.`,
        },
      ]),
      config: { openapiBody: DetectMultipart },
      schema: {
        tags: ['detect'],
        security: [{ bearerAuth: [] }],
        summary: 'Detect objects in one image, synchronously',
        description:
          'A few images are analysed at once (DETECT_CONCURRENCY) and a few more wait their turn ' +
          '(DETECT_QUEUE); beyond that, or past DETECT_TIMEOUT_SECONDS, the answer is 503 with ' +
          'Retry-After. Each user may send DETECT_RATE_LIMIT_PER_MINUTE images a minute (429).',
        response: { 200: DetectResult, ...errorResponses(400, 401, 403, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      requireUser(request);
      if (!request.isMultipart()) {
        throw new UnsupportedMediaError(
          'Send the image as multipart/form-data in a field named image.',
          'NOT_AN_IMAGE',
        );
      }
      const fields: Record<string, string> = {};
      let image: Buffer | undefined;
      for await (const part of request.parts({ limits: { fileSize: MAX_IMAGE_BYTES } })) {
        if (part.type === 'file') {
          const file = part as MultipartFile;
          if (file.fieldname !== 'image' || image) {
            await file.toBuffer().catch(() => undefined); // drain it
            throw new ValidationError('Send exactly one file, in a field named image.', 'INVALID_OPTION');
          }
          image = await file.toBuffer().catch((e: { code?: string }) => {
            if (e.code === 'FST_REQ_FILE_TOO_LARGE') {
              throw new PayloadTooLargeError(
                `The image is larger than ${MAX_IMAGE_BYTES} bytes.`,
                'UPLOAD_TOO_LARGE',
              );
            }
            throw e;
          });
          if (file.file.truncated) {
            throw new PayloadTooLargeError(
              `The image is larger than ${MAX_IMAGE_BYTES} bytes.`,
              'UPLOAD_TOO_LARGE',
            );
          }
        } else {
          fields[part.fieldname] = String((part as MultipartValue).value);
        }
      }
      if (!image || image.length === 0) {
        throw new ValidationError('Send an image file in a field named image.', 'EMPTY_UPLOAD');
      }
      const options = parseDetectFields(
        fields,
        opts.models.list().map((m) => m.name),
      );
      const bytes = image;
      // the image is read before a turn is taken: a slow upload holds no turn
      return opts.limiter.run(() => opts.imageDetection.detect(bytes, options));
    },
  );
};
