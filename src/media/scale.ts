/**
 * How ffmpeg resizes frames to a detector's input, in C, before they reach Node: `stretch` to the
 * input size, or `letterbox` (keep the aspect ratio, pad with grey). The matching box geometry is
 * src/inference/resize.ts.
 */

/** The size and resize mode frames are decoded to (a model's input). */
export interface FrameTarget {
  width: number;
  height: number;
  resize: 'stretch' | 'letterbox';
}

/** Grey 114 (0x72), the letterbox padding colour YOLO-family models are trained with. */
export const LETTERBOX_COLOR = '0x727272';

/** The ffmpeg `-vf` filter that resizes a frame to the target (followed by `-pix_fmt rgb24`). */
export function ffmpegScaleFilter(target: FrameTarget): string {
  const { width: W, height: H } = target;
  if (target.resize === 'stretch') return `scale=${W}:${H}`;
  return `scale=${W}:${H}:force_original_aspect_ratio=decrease,pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2:color=${LETTERBOX_COLOR}`;
}
