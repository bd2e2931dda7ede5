import { batched, type ExportTrack, type ExportVideo, num, type Source } from './types.js';
import { xmlEscape } from './xml.js';

/**
 * CVAT for video 1.1 XML ("interpolation" mode): one <track> per track, its boxes as keyframes.
 * Between two keyframes CVAT interpolates, and the last keyframe's box holds until the next one,
 * so where the object is NOT there a keyframe with outside="1" has to say so:
 * - a gap: the track was not seen on an analysed frame between two of its boxes: outside="1" at
 *   the first such frame (then outside="0" again at the next box);
 * - the end: outside="1" at the first analysed frame after its last box, unless there is none.
 * With `fps` sampling the frames in between were never analysed: CVAT interpolates across them,
 * which is the best guess there is, and a gap or end is placed on the next ANALYSED frame.
 * Frame numbers are the source video's (what CVAT numbers when it decodes the same video).
 */
export interface CvatExportInput {
  video: ExportVideo;
  labels: readonly string[];
  tracks: Source<ExportTrack>;
  /** the first analysed frame after `frameIndex`, or null when there is none */
  nextAnalysedFrame: (frameIndex: number) => number | null;
  dumped?: Date;
}

/** nextAnalysedFrame over a sorted list of analysed frame indices (binary search). */
export function nextFrameIn(sorted: ArrayLike<number>): (frameIndex: number) => number | null {
  return (f) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] <= f) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length ? sorted[lo] : null;
  };
}

export async function* cvatVideoExport(input: CvatExportInput): AsyncGenerator<string> {
  const { video, labels, nextAnalysedFrame } = input;
  const stop = video.frameCount - 1;
  yield* batched(
    (async function* () {
      yield '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n    <task>\n';
      yield `      <name>${xmlEscape(video.name)}</name>\n      <size>${video.frameCount}</size>\n      <mode>interpolation</mode>\n      <overlap>0</overlap>\n      <flipped>False</flipped>\n      <start_frame>0</start_frame>\n      <stop_frame>${stop}</stop_frame>\n      <labels>\n`;
      for (const l of labels)
        yield `        <label>\n          <name>${xmlEscape(l)}</name>\n          <attributes>\n          </attributes>\n        </label>\n`;
      yield `      </labels>\n      <original_size>\n        <width>${video.width}</width>\n        <height>${video.height}</height>\n      </original_size>\n    </task>\n    <dumped>${(input.dumped ?? new Date()).toISOString()}</dumped>\n  </meta>\n`;
      for await (const t of input.tracks) {
        yield `  <track id="${t.id}" label="${xmlEscape(t.label)}" source="auto">\n`;
        let prev: { frame: number; coords: string } | null = null;
        const outside = (frame: number, coords: string) =>
          `    <box frame="${frame}" outside="1" occluded="0" keyframe="1" ${coords} z_order="0">\n    </box>\n`;
        for await (const b of t.boxes) {
          if (b.frameIndex < 0 || b.frameIndex > stop) {
            throw new Error(`track ${t.id}: frame ${b.frameIndex} is outside the video (0..${stop})`);
          }
          if (prev) {
            if (b.frameIndex <= prev.frame) throw new Error(`track ${t.id}: boxes are not in frame order`);
            const next = nextAnalysedFrame(prev.frame);
            if (next !== null && next < b.frameIndex) yield outside(next, prev.coords);
          }
          const coords = `xtl="${num(b.box.x1)}" ytl="${num(b.box.y1)}" xbr="${num(b.box.x2)}" ybr="${num(b.box.y2)}"`;
          yield `    <box frame="${b.frameIndex}" outside="0" occluded="0" keyframe="1" ${coords} z_order="0">\n    </box>\n`;
          prev = { frame: b.frameIndex, coords };
        }
        if (prev) {
          const next = nextAnalysedFrame(prev.frame);
          if (next !== null && next <= stop) yield outside(next, prev.coords);
        }
        yield '  </track>\n';
      }
      yield '</annotations>\n';
    })(),
  );
}
