import type { DetectResult } from '../api/schemas.js';
import { UnprocessableError, UnsupportedMediaError, ValidationError } from '../errors.js';
import { toStoredDetection } from '../inference/postprocess.js';
import { type ModelRegistry, UnknownModelError } from '../inference/registry.js';
import { decodeStillImage, ImageTooLargeError, InvalidImageError } from '../media/image.js';
import type { MediaSettings } from '../media/settings.js';

/**
 * One still image → its detections, synchronously (POST /v1/detect and the CLI): media decodes it
 * at the model's input size, the detector runs it, boxes come back in the image's pixels.
 */
export interface ImageDetectionOptions {
  minScore: number;
  labels?: string[];
  /** model name (default: the registry's default) */
  model?: string;
}

export interface ImageDetectionService {
  /** Throws 415 NOT_AN_IMAGE for anything that is not a decodable JPEG/PNG/WebP, 400 for an unknown model. */
  detect(image: string | Buffer, opts: ImageDetectionOptions): Promise<DetectResult>;
}

export function createImageDetectionService(deps: {
  models: Pick<ModelRegistry, 'get'>;
  media: MediaSettings;
}): ImageDetectionService {
  return {
    async detect(image, opts) {
      try {
        const detector = await deps.models.get(opts.model);
        const { size, rgb } = await decodeStillImage(deps.media, image, detector.model.input);
        const [detections] = await detector.detect([rgb], size, opts);
        return {
          model: detector.model.name,
          width: size.width,
          height: size.height,
          detections: detections.map(toStoredDetection),
        };
      } catch (e) {
        if (e instanceof ImageTooLargeError) throw new UnprocessableError(e.message, 'IMAGE_TOO_LARGE');
        if (e instanceof InvalidImageError) throw new UnsupportedMediaError(e.message, 'NOT_AN_IMAGE');
        if (e instanceof UnknownModelError) throw new ValidationError(e.message, 'INVALID_OPTION');
        throw e;
      }
    },
  };
}
