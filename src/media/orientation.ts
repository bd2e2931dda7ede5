/**
 * Rotation, decided once for the whole service:
 *
 * - `rotation` in a VideoProbe is the CLOCKWISE rotation in degrees (0, 90, 180, 270) that a
 *   player applies to show the video upright (the old `rotate` tag's convention, and the direction
 *   of ffmpeg's autorotate: 90 -> transpose=clock). ffprobe's display-matrix `rotation` is
 *   counter-clockwise, hence the sign flip in `clockwiseRotation`.
 * - Decoding (src/media/decode-args.ts) turns frames upright itself (`-noautorotate` plus an
 *   explicit transpose after frame selection), so the detector sees the video as displayed and
 *   boxes are in DISPLAYED pixels: use `displaySize(probe.video)` (width/height swapped for 90/270)
 *   as the `original` size given to Detector.detect.
 */

/** Normalises a rotation in degrees (any sign, any multiple of 90 give or take rounding) to 0/90/180/270. */
export function normalizeRotation(deg: number): 0 | 90 | 180 | 270 {
  if (!Number.isFinite(deg)) return 0;
  const r = (((Math.round(deg / 90) * 90) % 360) + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

/**
 * Clockwise display rotation from ffprobe's stream fields: the `rotate` tag (clockwise, ffmpeg < 5)
 * wins; otherwise the display matrix side data (`rotation`, counter-clockwise).
 */
export function clockwiseRotation(stream: {
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
}): 0 | 90 | 180 | 270 {
  const tag = stream.tags?.rotate;
  if (tag != null && tag !== '' && Number.isFinite(Number(tag))) return normalizeRotation(Number(tag));
  const matrix = stream.side_data_list?.find((s) => s.rotation != null)?.rotation;
  if (matrix != null && Number.isFinite(Number(matrix))) return normalizeRotation(-Number(matrix));
  return 0;
}

/** The size of the frames as displayed (and as decoded by decode-args): width/height swapped for 90/270. */
export function displaySize(video: { width: number; height: number; rotation: number }): {
  width: number;
  height: number;
} {
  const r = normalizeRotation(video.rotation);
  return r === 90 || r === 270
    ? { width: video.height, height: video.width }
    : { width: video.width, height: video.height };
}

/** The ffmpeg filters that turn a frame with this clockwise rotation upright (empty for 0). */
export function rotationFilters(rotation: number): string[] {
  switch (normalizeRotation(rotation)) {
    case 90:
      return ['transpose=clock'];
    case 180:
      return ['hflip', 'vflip'];
    case 270:
      return ['transpose=cclock'];
    default:
      return [];
  }
}
