import { batched, type ExportFrame, type ExportVideo, frameName, type Source } from './types.js';
import { type ZipEntry, zipStore } from './zip.js';

/**
 * YOLO (darknet) labels as CVAT's "YOLO 1.1" import expects them, zipped:
 *   obj.names                    the class list, one label per line (class id = line number, from 0)
 *   obj.data                     classes = N, and where the lists are
 *   obj_train_data/frame_N.txt   one per analysed frame: `class cx cy w h`, normalised to 0..1
 *   train.txt                    the image paths, one per analysed frame
 * A frame with no detection gets an empty file (an analysed frame where nothing was found is an
 * answer). The frames are read twice (the label files, then train.txt), so `frames()` must open
 * them afresh each time.
 */
export interface YoloExportInput {
  video: ExportVideo;
  labels: readonly string[];
  frames: () => Source<ExportFrame>;
  modified?: Date;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const f6 = (x: number) => clamp01(x).toFixed(6);

export function yoloLine(
  classId: number,
  box: ExportFrame['detections'][number]['box'],
  w: number,
  h: number,
): string {
  const x1 = clamp01(box.x1 / w);
  const x2 = clamp01(box.x2 / w);
  const y1 = clamp01(box.y1 / h);
  const y2 = clamp01(box.y2 / h);
  return `${classId} ${f6((x1 + x2) / 2)} ${f6((y1 + y2) / 2)} ${f6(x2 - x1)} ${f6(y2 - y1)}\n`;
}

export function yoloExport(input: YoloExportInput): AsyncGenerator<Uint8Array> {
  const { video, labels } = input;
  const classId = new Map(labels.map((l, i) => [l, i]));
  for (const l of labels) {
    if (/[\r\n]/.test(l)) throw new Error(`label ${JSON.stringify(l)} cannot be a line of obj.names`);
  }
  async function* entries(): AsyncGenerator<ZipEntry> {
    yield { name: 'obj.names', data: labels.map((l) => `${l}\n`).join('') };
    yield {
      name: 'obj.data',
      data: `classes = ${labels.length}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n`,
    };
    for await (const f of input.frames()) {
      let text = '';
      for (const d of f.detections) {
        const id = classId.get(d.label);
        if (id === undefined) throw new Error(`label ${d.label} is not one of the model's labels`);
        text += yoloLine(id, d.box, video.width, video.height);
      }
      yield { name: `obj_train_data/${frameName(f.frameIndex, video.frameCount)}.txt`, data: text };
    }
    yield {
      name: 'train.txt',
      data: batched(
        (async function* () {
          for await (const f of input.frames()) {
            yield `data/obj_train_data/${frameName(f.frameIndex, video.frameCount)}.jpg\n`;
          }
        })(),
      ),
    };
  }
  return zipStore(entries(), input.modified);
}
