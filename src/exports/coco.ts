import { batched, type ExportFrame, type ExportVideo, frameName, num, type Source } from './types.js';

/**
 * COCO object detection JSON: `images` (one per analysed frame, id = frame index + 1, so both
 * passes agree without a map), `annotations` (bbox [x, y, width, height] in pixels, area, iscrowd 0,
 * score, and `attributes.track_id` as CVAT writes and reads it), `categories` (the model's labels,
 * id = position + 1). JSON needs the images array closed before the annotations start, so the
 * frames are read twice: `frames()` must open them afresh each time.
 */
export interface CocoExportInput {
  video: ExportVideo;
  /** the model's labels, in its order */
  labels: readonly string[];
  frames: () => Source<ExportFrame>;
  /** date_created (default: now) */
  created?: Date;
}

export async function* cocoExport(input: CocoExportInput): AsyncGenerator<string> {
  const { video, labels } = input;
  const categoryId = new Map(labels.map((l, i) => [l, i + 1]));
  const created = (input.created ?? new Date()).toISOString();
  yield* batched(
    (async function* () {
      yield `{"info":${JSON.stringify({ description: video.name, version: '1.0', date_created: created })},"licenses":[],"categories":${JSON.stringify(labels.map((name, i) => ({ id: i + 1, name, supercategory: '' })))},"images":[`;
      let first = true;
      for await (const f of input.frames()) {
        const image = {
          id: f.frameIndex + 1,
          file_name: `${frameName(f.frameIndex, video.frameCount)}.jpg`,
          width: video.width,
          height: video.height,
          frame_index: f.frameIndex,
          timestamp: Number(num(f.timestamp, 6)),
        };
        yield (first ? '' : ',') + JSON.stringify(image);
        first = false;
      }
      yield '],"annotations":[';
      let id = 0;
      for await (const f of input.frames()) {
        for (const d of f.detections) {
          const category = categoryId.get(d.label);
          if (category === undefined) throw new Error(`label ${d.label} is not one of the model's labels`);
          const w = Number(num(d.box.x2 - d.box.x1));
          const h = Number(num(d.box.y2 - d.box.y1));
          const a = {
            id: ++id,
            image_id: f.frameIndex + 1,
            category_id: category,
            bbox: [Number(num(d.box.x1)), Number(num(d.box.y1)), w, h],
            area: Number(num(w * h)),
            iscrowd: 0,
            score: d.score,
            attributes: d.trackId === null ? {} : { track_id: d.trackId },
          };
          yield (id === 1 ? '' : ',') + JSON.stringify(a);
        }
      }
      yield ']}';
    })(),
  );
}
