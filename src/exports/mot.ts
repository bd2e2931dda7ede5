import { batched, type ExportFrame, num, type Source } from './types.js';

/**
 * MOT Challenge text (the results format MOTChallenge and TrackEval read): one line per box,
 * `frame,id,bb_left,bb_top,bb_width,bb_height,conf,x,y,z` with frame numbers 1-based (the source
 * video's frame index + 1, so sampled frames keep their place in the video) and x, y, z = -1 for
 * 2D. A detection in no track gets id -1, as in MOT detection files.
 */
export async function* motExport(frames: Source<ExportFrame>): AsyncGenerator<string> {
  yield* batched(
    (async function* () {
      for await (const f of frames) {
        let lines = '';
        for (const d of f.detections) {
          const { x1, y1, x2, y2 } = d.box;
          lines += `${f.frameIndex + 1},${d.trackId ?? -1},${num(x1)},${num(y1)},${num(x2 - x1)},${num(y2 - y1)},${num(d.score, 4)},-1,-1,-1\n`;
        }
        if (lines) yield lines;
      }
    })(),
  );
}
