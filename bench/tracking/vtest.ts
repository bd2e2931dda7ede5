import { readFileSync } from 'node:fs';
import type { Box } from '../../src/inference/types.js';
import { matchBoxes } from '../../src/tracking/metrics.js';

/**
 * The hand annotations of vtest.avi (vtest-annotations.json: how they were made is in its `how`)
 * and the precision / recall of what a job reports on those frames.
 */

export interface AnnotatedFrame {
  frameIndex: number;
  objects: { label: 'person' | 'vehicle'; box: [number, number, number, number]; ignore?: boolean }[];
}

export function loadAnnotations(): AnnotatedFrame[] {
  return JSON.parse(readFileSync(new URL('./vtest-annotations.json', import.meta.url), 'utf8')).frames;
}

const VEHICLES = new Set(['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'train']);
const group = (label: string) => (label === 'person' ? 'person' : VEHICLES.has(label) ? 'vehicle' : 'other');
const toBox = (b: number[]): Box => ({ x1: b[0], y1: b[1], x2: b[2], y2: b[3] });

export interface PrecisionRecall {
  /** of every detection reported, whatever its label */
  precisionAll: number;
  /** of the person and vehicle detections */
  precision: number;
  recall: number;
  personRecall: number;
  falsePerFrame: number;
  f1: number;
}

/**
 * Precision and recall on the annotated frames: IoU >= 0.5, one to one, per group (person;
 * vehicle = car, truck, bus, ...). Every other label reported counts as a false detection (the
 * footage has no other COCO objects worth the name: the detector's "fire hydrants" are traffic
 * cones). A detection left unmatched that lies on an "ignore" person counts neither way.
 */
export function precisionRecall(
  ann: AnnotatedFrame[],
  reported: (frameIndex: number) => { label: string; box: Box }[],
): PrecisionRecall {
  let tp = 0;
  let reportedPv = 0;
  let reportedAll = 0;
  let tpPerson = 0;
  let nPerson = 0;
  let truthTotal = 0;
  for (const f of ann) {
    const dets = reported(f.frameIndex);
    reportedAll += dets.length;
    for (const g of ['person', 'vehicle'] as const) {
      const truth = f.objects.filter((o) => o.label === g && !o.ignore).map((o) => toBox(o.box));
      const ignore = f.objects.filter((o) => o.label === g && o.ignore).map((o) => toBox(o.box));
      const hyp = dets.filter((d) => group(d.label) === g).map((d) => d.box);
      const pairs = matchBoxes(truth, hyp, 0.5);
      const matched = new Set(pairs.map(([, h]) => h));
      const dontCare = matchBoxes(
        ignore,
        hyp.filter((_, k) => !matched.has(k)),
        0.5,
      ).length;
      reportedAll -= dontCare;
      reportedPv += hyp.length - dontCare;
      tp += pairs.length;
      truthTotal += truth.length;
      if (g === 'person') {
        tpPerson += pairs.length;
        nPerson += truth.length;
      }
    }
  }
  const precisionAll = reportedAll > 0 ? tp / reportedAll : 1;
  const recall = tp / truthTotal;
  return {
    precisionAll,
    precision: reportedPv > 0 ? tp / reportedPv : 1,
    recall,
    personRecall: tpPerson / nPerson,
    falsePerFrame: (reportedAll - tp) / ann.length,
    f1: precisionAll + recall > 0 ? (2 * precisionAll * recall) / (precisionAll + recall) : 0,
  };
}
