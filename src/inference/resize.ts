/**
 * Where a frame lands in the model input after ffmpeg resized it (src/media/scale.ts), and how to
 * undo it for boxes. This geometry must agree with ffmpeg's own arithmetic, which
 * test/integration checks against the real binary.
 */
import type { FrameSize, ModelInput } from './types.js';

export interface LetterboxGeometry {
  /** size of the scaled image inside the model input */
  scaledWidth: number;
  scaledHeight: number;
  /** offset of the scaled image in the model input (the left/top padding) */
  padX: number;
  padY: number;
}

/**
 * Where ffmpeg puts the image for `letterbox`. The scale filter with
 * force_original_aspect_ratio=decrease computes each side with av_rescale (round half away from
 * zero) and takes the smaller; pad truncates (ow-iw)/2 to an integer.
 */
export function letterboxGeometry(
  original: FrameSize,
  input: Pick<ModelInput, 'width' | 'height'>,
): LetterboxGeometry {
  const W = input.width;
  const H = input.height;
  const scaledWidth = Math.min(W, Math.round((H * original.width) / original.height));
  const scaledHeight = Math.min(H, Math.round((W * original.height) / original.width));
  return {
    scaledWidth,
    scaledHeight,
    padX: Math.floor((W - scaledWidth) / 2),
    padY: Math.floor((H - scaledHeight) / 2),
  };
}

/** Affine map from model-input pixels to original pixels: orig = (v - offset) * scale, per axis. */
export interface InputToOriginal {
  offsetX: number;
  offsetY: number;
  scaleX: number;
  scaleY: number;
}

export function inputToOriginal(
  original: FrameSize,
  input: Pick<ModelInput, 'width' | 'height' | 'resize'>,
): InputToOriginal {
  if (input.resize === 'stretch') {
    return {
      offsetX: 0,
      offsetY: 0,
      scaleX: original.width / input.width,
      scaleY: original.height / input.height,
    };
  }
  const g = letterboxGeometry(original, input);
  return {
    offsetX: g.padX,
    offsetY: g.padY,
    scaleX: original.width / g.scaledWidth,
    scaleY: original.height / g.scaledHeight,
  };
}
